import { describe, expect, it, vi } from "vitest";
import { lastAttemptLost, runConsumer, settlementFor, type DeliverySource, type Lease, type Settlement } from "./consumer-loop.js";
import type { Delivery, DeliveryHandler } from "./types.js";

const backoff = { baseMs: 100, factor: 2, maxMs: 1_000, jitter: 0 };

describe("settlementFor", () => {
  const at = (attempt: number) => ({ attempt, maxAttempts: 3 });

  it("acknowledges a handler that resolved with nothing", () => {
    expect(settlementFor({ ok: true, verdict: undefined }, at(1), backoff)).toEqual({ kind: "ack" });
  });

  it("retries a throw after backoff, and a retry verdict after its own delay", () => {
    expect(settlementFor({ ok: false, error: new Error("boom") }, at(2), backoff)).toEqual({
      kind: "retry",
      delayMs: 200,
      error: "boom",
    });
    const verdict = { outcome: "retry", error: "429", delayMs: 5_000 } as const;
    expect(settlementFor({ ok: true, verdict }, at(1), backoff)).toEqual({ kind: "retry", delayMs: 5_000, error: "429" });
  });

  it("dead-letters a failure on the last attempt, and a dead verdict at once", () => {
    expect(settlementFor({ ok: false, error: "x" }, at(3), backoff)).toEqual({ kind: "dead", error: "x", attempts: 3 });
    const verdict = { outcome: "dead", error: "gone" } as const;
    expect(settlementFor({ ok: true, verdict }, at(1), backoff)).toEqual({ kind: "dead", error: "gone", attempts: 1 });
  });
});

/** A source that hands out the given deliveries once each and records what became of them. */
function fakeSource(deliveries: Partial<Delivery>[]) {
  const settled: { id: string; settlement: Settlement }[] = [];
  const extended: string[] = [];
  const queue = [...deliveries];
  const source: DeliverySource = {
    async take(max) {
      return queue.splice(0, max).map((d): Lease => {
        const delivery = { id: "m", attempt: 1, maxAttempts: 3, ...d } as Delivery;
        delivery.extend = async () => void extended.push(delivery.id);
        return { delivery, settle: async (settlement) => void settled.push({ id: delivery.id, settlement }), release: async () => {} };
      });
    },
    idle: () => new Promise((resolve) => setTimeout(resolve, 5)),
    async close() {},
  };
  return { source, settled, extended };
}

const options = { concurrency: 2, backoff, onError: () => {} };

describe("runConsumer", () => {
  it("counts a handler that throws before returning a promise as a failure", async () => {
    const { source, settled } = fakeSource([{ id: "a" }]);
    const handler = (() => {
      throw new Error("sync");
    }) as unknown as DeliveryHandler;
    const consumer = runConsumer(source, handler, options);
    await vi.waitFor(() => expect(settled).toEqual([{ id: "a", settlement: { kind: "retry", delayMs: 100, error: "sync" } }]));
    await consumer.stop();
  });

  it("dead-letters a delivery past its last attempt without running it", async () => {
    const { source, settled } = fakeSource([{ id: "a", attempt: 4, maxAttempts: 3 }]);
    const handler = vi.fn(async () => {});
    const consumer = runConsumer(source, handler, options);
    await vi.waitFor(() => expect(settled).toHaveLength(1));
    expect(settled[0]!.settlement).toEqual({ kind: "dead", error: lastAttemptLost, attempts: 3 });
    expect(handler).not.toHaveBeenCalled();
    await consumer.stop();
  });

  it("abandons handlers still running when the drain time is up: no settlement, no extension", async () => {
    const { source, settled, extended } = fakeSource([{ id: "slow" }, { id: "quick" }]);
    let finish = () => {};
    const consumer = runConsumer(
      source,
      async (d) => {
        if (d.id === "quick") return;
        await new Promise<void>((resolve) => (finish = resolve));
        await d.extend();
      },
      options,
    );
    await vi.waitFor(() => expect(settled.map((s) => s.id)).toEqual(["quick"]));
    await consumer.stop({ drainMs: 50 });
    finish();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled.map((s) => s.id)).toEqual(["quick"]);
    expect(extended).toEqual([]);
  });

  it("waits for running handlers to finish when they do so within the drain time", async () => {
    const { source, settled } = fakeSource([{ id: "a" }]);
    let started = false;
    const consumer = runConsumer(
      source,
      async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      },
      options,
    );
    await vi.waitFor(() => expect(started).toBe(true));
    await consumer.stop({ drainMs: 5_000 });
    expect(settled).toEqual([{ id: "a", settlement: { kind: "ack" } }]);
  });
});
