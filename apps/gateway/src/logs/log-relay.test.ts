import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@isle/db";
import { openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { createLogger } from "@isle/telemetry";
import { LogFeed, type LogBatch } from "./log-feed.js";
import { LogRelay } from "./log-relay.js";

const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });

async function until(check: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
}

describe("LogRelay (postgres)", () => {
  let opened: OpenTestDatabase;
  const gateways: Array<{ database: Database; feed: LogFeed; relay: LogRelay }> = [];
  beforeAll(async () => {
    opened = await openTestDatabase("postgres");
    for (let i = 0; i < 2; i++) {
      const database = await openDatabase(opened.options);
      const feed = new LogFeed(logger);
      const relay = new LogRelay({ database, feed, logger, flushMs: 5 });
      await relay.start();
      gateways.push({ database, feed, relay });
    }
    // The dedicated LISTEN sessions connect in the background.
    await new Promise((r) => setTimeout(r, 500));
  });
  afterAll(async () => {
    for (const { relay, database } of gateways) {
      await relay.stop();
      await database.close();
    }
    await opened?.dispose();
  });

  const batch = (functionId: string, lines: LogBatch["lines"], tenantId = "ten_a"): LogBatch => ({ tenantId, functionId, invocationId: `inv_${functionId}`, status: "succeeded", lines });
  const line = (message: string) => ({ at: "2026-12-07T00:00:00.000Z", level: "log", message });

  it("brings a batch recorded on one gateway to the followers of that function on another, once, and to no one else", async () => {
    const [a, b] = gateways;
    const onB: LogBatch[] = [];
    const onA: LogBatch[] = [];
    const otherTenant: LogBatch[] = [];
    const stopB = b!.feed.subscribe("ten_a", "fn_1", (x) => onB.push(x));
    const stopA = a!.feed.subscribe("ten_a", "fn_1", (x) => onA.push(x));
    const stopOther = b!.feed.subscribe("ten_b", "fn_1", (x) => otherTenant.push(x));
    a!.feed.publish(batch("fn_1", [line("hello from a")]));
    await until(() => onB.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(onB).toEqual([batch("fn_1", [line("hello from a")])]);
    // The gateway that recorded it delivers it once, itself; its own notification is not delivered again.
    expect(onA).toHaveLength(1);
    expect(otherTenant).toEqual([]);
    stopA();
    stopB();
    stopOther();
  });

  it("splits a batch too long for one notification and cuts a line too long for any", async () => {
    const [a, b] = gateways;
    const onB: LogBatch[] = [];
    const stop = b!.feed.subscribe("ten_a", "fn_big", (x) => onB.push(x));
    const lines = Array.from({ length: 40 }, (_, i) => line(`${i}:${"x".repeat(1000)}`));
    lines.push(line("\u0001".repeat(20_000)));
    a!.feed.publish(batch("fn_big", lines));
    await until(() => onB.flatMap((x) => x.lines).length === 41);
    const received = onB.flatMap((x) => x.lines);
    expect(onB.length).toBeGreaterThan(1);
    expect(received.slice(0, 40)).toEqual(lines.slice(0, 40));
    expect(received[40]!.message.endsWith("… (cut)")).toBe(true);
    stop();
  });
});
