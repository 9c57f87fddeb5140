import { describe, expect, it } from "vitest";
import type { InvocationLogLine, LogAppend, NewInvocation } from "@isle/db";
import { createLogger } from "@isle/telemetry";
import type { LogBatch } from "../logs/log-feed.js";
import { InvocationRecorder } from "./invocation-recorder.js";

const logger = createLogger({ service: "test", level: "silent" });
const entry = (id: string, tenantId = "ten_1"): NewInvocation => ({
  id,
  tenantId,
  functionId: "fn_1",
  mode: "sync",
  status: "succeeded",
  startedAt: new Date(),
});

describe("InvocationRecorder", () => {
  it("writes records in batches, off the request path", async () => {
    const batches: string[][] = [];
    const recorder = new InvocationRecorder(async (rows) => void batches.push(rows.map((r) => r.id)), logger, { flushMs: 10 });
    recorder.record(entry("a"));
    recorder.record(entry("b"));
    expect(batches).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(batches).toEqual([["a", "b"]]);
  });

  it("keeps the good rows of a batch that fails", async () => {
    const written: string[] = [];
    const recorder = new InvocationRecorder(async (rows) => {
      if (rows.some((r) => r.tenantId === "gone")) throw new Error("foreign key violation");
      written.push(...rows.map((r) => r.id));
    }, logger);
    recorder.record(entry("a"));
    recorder.record(entry("b", "gone"));
    recorder.record(entry("c"));
    await recorder.flush();
    expect(written).toEqual(["a", "c"]);
  });

  it("bounds what it holds while the database is down", async () => {
    const recorder = new InvocationRecorder(async () => {
      throw new Error("down");
    }, logger, { maxBuffered: 2, maxBatch: 1000, flushMs: 60_000 });
    for (const id of ["a", "b", "c"]) recorder.record(entry(id));
    expect(recorder.dropped).toBe(1);
    await recorder.flush();
  });

  const line = (message: string): InvocationLogLine => ({ at: "2026-11-22T00:00:00.000Z", level: "log", message });

  it("writes the output with its record, and lines that come later join it while it waits", async () => {
    const rows: NewInvocation[] = [];
    const recorder = new InvocationRecorder(async (batch) => void rows.push(...batch), logger, { flushMs: 60_000 });
    recorder.record({ ...entry("a"), logs: [line("first")] });
    recorder.appendLogs("ten_1", "a", [line("from waitUntil")]);
    // Another tenant naming the same id joins nothing.
    recorder.appendLogs("ten_2", "a", [line("not yours")]);
    await recorder.flush();
    expect(rows.map((r) => r.logs)).toEqual([[line("first"), line("from waitUntil")]]);
  });

  it("appends lines that come after their record was written, once it is written, and tells followers", async () => {
    const order: string[] = [];
    const appended: LogAppend[][] = [];
    let inserted = () => {};
    const insert = async (batch: NewInvocation[]) => {
      order.push(`insert ${batch.map((r) => r.id).join()}`);
      await new Promise<void>((resolve) => (inserted = resolve));
    };
    const recorder = new InvocationRecorder(insert, logger, {
      flushMs: 60_000,
      appendLogs: async (appends) => {
        order.push(`append ${appends.map((a) => a.id).join()}`);
        appended.push(appends);
        return appends.map((a) => ({ tenantId: a.tenantId, id: a.id, functionId: "fn_1", status: "failed" }));
      },
    });
    const batches: LogBatch[] = [];
    recorder.feed.subscribe("ten_1", "fn_1", (batch) => batches.push(batch));
    recorder.record({ ...entry("a"), logs: [line("at the end")] });
    const writing = recorder.flush();
    await expect.poll(() => order).toEqual(["insert a"]);
    // The record is being written: these must wait for it, then be appended.
    recorder.appendLogs("ten_1", "a", [line("late 1")]);
    recorder.appendLogs("ten_1", "a", [line("late 2")]);
    inserted();
    await writing;
    await recorder.flush();
    expect(order).toEqual(["insert a", "append a"]);
    expect(appended).toEqual([[{ tenantId: "ten_1", id: "a", lines: [line("late 1"), line("late 2")] }]]);
    expect(batches).toEqual([
      { tenantId: "ten_1", functionId: "fn_1", invocationId: "a", status: "succeeded", lines: [line("at the end")] },
      { tenantId: "ten_1", functionId: "fn_1", invocationId: "a", status: "failed", lines: [line("late 1"), line("late 2")] },
    ]);
  });

  it("tells only the followers of that tenant's function", () => {
    const recorder = new InvocationRecorder(async () => undefined, logger, { flushMs: 60_000 });
    const seen: string[] = [];
    recorder.feed.subscribe("ten_1", "fn_1", (b) => seen.push(`mine ${b.invocationId}`));
    recorder.feed.subscribe("ten_2", "fn_1", (b) => seen.push(`other tenant ${b.invocationId}`));
    recorder.feed.subscribe("ten_1", "fn_2", (b) => seen.push(`other function ${b.invocationId}`));
    recorder.record({ ...entry("a"), logs: [line("x")] });
    recorder.record({ ...entry("quiet") });
    expect(seen).toEqual(["mine a"]);
  });
});
