import { describe, expect, it } from "vitest";
import type { NewInvocation } from "@isle/db";
import { createLogger } from "@isle/telemetry";
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
});
