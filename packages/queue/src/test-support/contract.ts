import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lastAttemptLost } from "../consumer-loop.js";
import type { QueueOptions } from "../settings.js";
import type { Delivery, DeliveryHandler, InvocationQueue, QueueConsumer, QueueMessage } from "../types.js";

/** One implementation under test, over a real server. */
export interface QueueBackend {
  /** A queue over the backend's current connection(s). */
  open(options: QueueOptions & { name: string }): InvocationQueue;
  /** Drop every connection the backend holds and connect again, as a restarted process would. */
  restart(): Promise<void>;
  /** Delete what the named queue left on the server. */
  cleanup(name: string): Promise<void>;
}

// Small on purpose: a test that waits out a visibility timeout waits about this long.
const visibilityTimeoutMs = 1_000;
const waitTimeout = { timeout: 10_000, interval: 25 };

let counter = 0;
/** Ids as the gateway makes them: a prefix and random characters. */
export function testId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}${++counter}`;
}

/** A handler that records every delivery and answers with `answer` (default: done). */
function recorder(answer: DeliveryHandler = async () => {}) {
  const deliveries: (Delivery & { at: number })[] = [];
  const handler: DeliveryHandler = (d) => {
    deliveries.push({ ...d, at: Date.now() });
    return answer(d);
  };
  return { deliveries, handler };
}

const forever = () => new Promise<never>(() => {});
const queueName = () => `t${randomBytes(5).toString("hex")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The behaviour every InvocationQueue must show; run once per implementation and server. */
export function describeQueueContract(label: string, backend: () => QueueBackend): void {
  describe(`InvocationQueue contract (${label})`, () => {
    const names: string[] = [];
    const queues: InvocationQueue[] = [];
    const consumers: QueueConsumer[] = [];

    function open(options: QueueOptions & { name?: string } = {}): InvocationQueue {
      const name = options.name ?? queueName();
      if (!names.includes(name)) names.push(name);
      const queue = backend().open({
        visibilityTimeoutMs,
        backoff: { baseMs: 100, factor: 2, maxMs: 2_000, jitter: 0 },
        ...options,
        name,
      });
      queues.push(queue);
      return queue;
    }
    function consume(queue: InvocationQueue, handler: DeliveryHandler, concurrency = 1): QueueConsumer {
      const consumer = queue.consume(handler, { concurrency });
      consumers.push(consumer);
      return consumer;
    }
    function message(tenantId = "ten_a", extra: Partial<QueueMessage> = {}): QueueMessage {
      return { id: testId("inv"), tenantId, functionId: "fn_1", payload: { hello: "world" }, ...extra };
    }

    /**
     * A consumer takes `msg` and dies mid-handler: no acknowledgement, no extension, its
     * connection gone. Returns when the delivery happened and the queue's name, to reopen it.
     */
    async function crashMidHandler(msg: QueueMessage, options: QueueOptions = {}) {
      const name = queueName();
      const crashing = open({ ...options, name });
      const { deliveries, handler } = recorder(forever);
      consume(crashing, handler);
      await crashing.enqueue(msg);
      await vi.waitFor(() => expect(deliveries).toHaveLength(1), waitTimeout);
      await crashing.close();
      return { name, deliveredAt: deliveries[0]!.at };
    }

    /** Once the queue is empty, nothing comes back past a visibility timeout: it was acknowledged. */
    async function expectAcknowledged(queue: InvocationQueue, deliveries: unknown[], count: number) {
      await vi.waitFor(async () => expect(await queue.depth()).toBe(0), waitTimeout);
      await sleep(visibilityTimeoutMs * 1.5);
      expect(deliveries).toHaveLength(count);
    }

    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((c) => c.stop({ drainMs: 0 })));
      await Promise.all(queues.splice(0).map((q) => q.close()));
      await Promise.all(names.splice(0).map((n) => backend().cleanup(n)));
    });

    it("delivers each message once, with its fields and payload, and acknowledges it", async () => {
      const queue = open();
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const first = message("ten_a", { payload: bytes, idempotencyKey: "key-1" });
      const second = message("ten_b", { payload: { nested: { list: [1, "two", null] } } });
      expect(await queue.enqueue(first)).toEqual({ id: first.id, duplicate: false });
      expect(await queue.enqueue(second)).toEqual({ id: second.id, duplicate: false });
      expect(await queue.depth()).toBe(2);

      const { deliveries, handler } = recorder();
      consume(queue, handler);
      await vi.waitFor(() => expect(deliveries).toHaveLength(2), waitTimeout);
      const byId = new Map(deliveries.map((d) => [d.id, d]));
      const got = byId.get(first.id)!;
      expect(got).toMatchObject({ tenantId: "ten_a", functionId: "fn_1", attempt: 1, idempotencyKey: "key-1" });
      expect(got.payload).toBeInstanceOf(Uint8Array);
      expect([...(got.payload as Uint8Array)]).toEqual([...bytes]);
      expect(got.enqueuedAt).toBeInstanceOf(Date);
      expect(byId.get(second.id)).toMatchObject({ tenantId: "ten_b", attempt: 1, payload: second.payload });
      await expectAcknowledged(queue, deliveries, 2);
    });

    it("has stored a message once enqueue resolves: it is there after the client reconnects", async () => {
      const name = queueName();
      const before = open({ name });
      const msg = message();
      await before.enqueue(msg);
      await before.close();
      await backend().restart();

      const after = open({ name });
      expect(await after.depth()).toBe(1);
      const { deliveries, handler } = recorder();
      consume(after, handler);
      await vi.waitFor(() => expect(deliveries.map((d) => d.id)).toEqual([msg.id]), waitTimeout);
    });

    it("dedups an idempotency key per tenant within the window, and a repeated id", async () => {
      const queue = open({ idempotencyWindowMs: 3_000 });
      const first = message("ten_a", { idempotencyKey: "order-17" });
      expect(await queue.enqueue(first)).toEqual({ id: first.id, duplicate: false });
      const again = message("ten_a", { idempotencyKey: "order-17" });
      expect(await queue.enqueue(again)).toEqual({ id: first.id, duplicate: true });
      const otherTenant = message("ten_b", { idempotencyKey: "order-17" });
      expect(await queue.enqueue(otherTenant)).toEqual({ id: otherTenant.id, duplicate: false });
      // The same id sent twice (a producer retrying after a timeout) is stored once.
      const plain = message("ten_a");
      await queue.enqueue(plain);
      expect(await queue.enqueue(plain)).toEqual({ id: plain.id, duplicate: true });
      expect(await queue.depth()).toBe(3);

      // Past the window the key is free again.
      await sleep(3_200);
      const later = message("ten_a", { idempotencyKey: "order-17" });
      expect(await queue.enqueue(later)).toEqual({ id: later.id, duplicate: false });

      const { deliveries, handler } = recorder();
      consume(queue, handler);
      await vi.waitFor(() => expect(deliveries).toHaveLength(4), waitTimeout);
      expect(deliveries.map((d) => d.id).sort()).toEqual([first.id, otherTenant.id, plain.id, later.id].sort());
    });

    it("retries a failure after exponential backoff, or after the delay the handler asks for, counting attempts", async () => {
      const queue = open({ backoff: { baseMs: 300, factor: 2, maxMs: 5_000, jitter: 0 } });
      const { deliveries, handler } = recorder(async (d) => {
        if (d.attempt === 1) throw new Error("first try fails");
        if (d.attempt === 2) return { outcome: "retry", error: "busy", delayMs: 700 };
      });
      await queue.enqueue(message());
      consume(queue, handler);
      await vi.waitFor(() => expect(deliveries).toHaveLength(3), waitTimeout);
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
      // Lower bounds only (less a little for timer granularity): each retry waited its delay.
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(300 - 50);
      expect(deliveries[2]!.at - deliveries[1]!.at).toBeGreaterThanOrEqual(700 - 50);
      await expectAcknowledged(queue, deliveries, 3);
    });

    it("does not hand a message to another consumer while its handler keeps extending it", async () => {
      const name = queueName();
      const queue = open({ name });
      const { deliveries, handler } = recorder(async (d) => {
        // Runs for 2.5 visibility timeouts, extending three times per timeout.
        for (let i = 0; i < 8; i++) {
          await sleep(visibilityTimeoutMs / 3);
          await d.extend();
        }
      });
      await queue.enqueue(message());
      consume(queue, handler, 2);
      consume(open({ name }), handler, 2);
      await vi.waitFor(() => expect(deliveries).toHaveLength(1), waitTimeout);
      await expectAcknowledged(queue, deliveries, 1);
      expect(deliveries[0]!.attempt).toBe(1);
    });

    it("redelivers with attempt 2 after the visibility timeout when a consumer dies mid-handler", async () => {
      const msg = message();
      const { name, deliveredAt } = await crashMidHandler(msg);
      const survivor = open({ name });
      const second = recorder();
      consume(survivor, second.handler);
      await vi.waitFor(() => expect(second.deliveries).toHaveLength(1), waitTimeout);
      expect(second.deliveries[0]).toMatchObject({ id: msg.id, attempt: 2 });
      // Not before the visibility timeout (less the claim-to-handler latency of the first delivery).
      expect(second.deliveries[0]!.at - deliveredAt).toBeGreaterThanOrEqual(visibilityTimeoutMs / 2);
      await vi.waitFor(async () => expect(await survivor.depth()).toBe(0), waitTimeout);
    });

    it("dead-letters after the last attempt, lists it to its tenant only, and runs it again on retry", async () => {
      const queue = open({ maxAttempts: 2 });
      let failing = true;
      const { deliveries, handler } = recorder(async (d) => {
        if (failing) throw new Error(`boom on attempt ${d.attempt}`);
      });
      const msg = message("ten_dead", { payload: { job: 42 } });
      await queue.enqueue(msg);
      consume(queue, handler);
      await vi.waitFor(async () => expect((await queue.listDeadLetters("ten_dead")).items).toHaveLength(1), waitTimeout);
      const dead = (await queue.listDeadLetters("ten_dead")).items[0]!;
      expect(dead).toMatchObject({ id: msg.id, tenantId: "ten_dead", functionId: "fn_1", attempts: 2, error: "boom on attempt 2" });
      expect(dead.payload).toEqual({ job: 42 });
      expect(dead.deadAt.getTime()).toBeGreaterThanOrEqual(dead.enqueuedAt.getTime());
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
      expect(await queue.depth()).toBe(0);
      expect((await queue.listDeadLetters("ten_other")).items).toEqual([]);
      expect(await queue.retryDeadLetter("ten_other", msg.id)).toBe(false);

      failing = false;
      expect(await queue.retryDeadLetter("ten_dead", msg.id)).toBe(true);
      await vi.waitFor(() => expect(deliveries).toHaveLength(3), waitTimeout);
      // Attempt numbers continue; the retried message has a fresh budget of two.
      expect(deliveries[2]).toMatchObject({ id: msg.id, attempt: 3, maxAttempts: 4 });
      await vi.waitFor(async () => expect(await queue.depth()).toBe(0), waitTimeout);
      expect((await queue.listDeadLetters("ten_dead")).items).toEqual([]);
      expect(await queue.retryDeadLetter("ten_dead", msg.id)).toBe(false);
    });

    it("dead-letters at once when the handler gives up, and pages through a tenant's dead letters", async () => {
      const queue = open();
      const { deliveries, handler } = recorder(async () => ({ outcome: "dead", error: "function deleted" }));
      const sent = [message("ten_p"), message("ten_p"), message("ten_p")];
      for (const m of sent) await queue.enqueue(m);
      consume(queue, handler);
      await vi.waitFor(async () => expect((await queue.listDeadLetters("ten_p")).items).toHaveLength(3), waitTimeout);
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 1, 1]);
      const page1 = await queue.listDeadLetters("ten_p", { limit: 2 });
      expect(page1.items).toHaveLength(2);
      expect(page1.nextCursor).toBeDefined();
      const page2 = await queue.listDeadLetters("ten_p", { limit: 2, cursor: page1.nextCursor! });
      expect(page2.items).toHaveLength(1);
      expect(page2.nextCursor).toBeUndefined();
      const listed = [...page1.items, ...page2.items];
      expect(listed.map((d) => d.id).sort()).toEqual(sent.map((m) => m.id).sort());
      expect(listed.every((d) => d.error === "function deleted" && d.attempts === 1)).toBe(true);
    });

    it("dead-letters without running it a message whose last attempt's consumer died", async () => {
      const msg = message("ten_crash");
      const { name } = await crashMidHandler(msg, { maxAttempts: 1 });
      const survivor = open({ name, maxAttempts: 1 });
      const second = recorder();
      consume(survivor, second.handler);
      await vi.waitFor(async () => expect((await survivor.listDeadLetters("ten_crash")).items).toHaveLength(1), waitTimeout);
      expect((await survivor.listDeadLetters("ten_crash")).items[0]).toMatchObject({
        id: msg.id,
        attempts: 1,
        error: lastAttemptLost,
      });
      expect(second.deliveries).toEqual([]);
      expect(await survivor.depth()).toBe(0);
    });

    it("runs at most `concurrency` handlers at once per consumer, and two consumers never share a delivery", async () => {
      const name = queueName();
      const queues = [open({ name }), open({ name })];
      let active = 0;
      let peak = 0;
      const perConsumer = [0, 0].map(() => ({ active: 0, peak: 0 }));
      const seen: string[] = [];
      const handlerFor = (i: number): DeliveryHandler => async (d) => {
        const mine = perConsumer[i]!;
        seen.push(d.id);
        active++;
        mine.active++;
        peak = Math.max(peak, active);
        mine.peak = Math.max(mine.peak, mine.active);
        await sleep(150);
        active--;
        mine.active--;
      };
      const sent = Array.from({ length: 16 }, () => message());
      for (const m of sent) await queues[0]!.enqueue(m);
      queues.forEach((q, i) => consume(q, handlerFor(i), 3));
      await vi.waitFor(() => expect(seen).toHaveLength(16), waitTimeout);
      await vi.waitFor(async () => expect(await queues[0]!.depth()).toBe(0), waitTimeout);
      expect(new Set(seen).size).toBe(16);
      expect(perConsumer.every((c) => c.peak <= 3)).toBe(true);
      // The limit is a limit, not a serialisation: some handlers did overlap.
      expect(peak).toBeGreaterThan(1);
    });

    it("rejects what it cannot store as a typed error", async () => {
      const queue = open({ maxPayloadBytes: 1_000 });
      await expect(queue.enqueue(message("ten_a", { payload: new Uint8Array(1_001) }))).rejects.toMatchObject({
        code: "payload_too_large",
      });
      await expect(queue.enqueue(message("ten.*"))).rejects.toMatchObject({ code: "validation_failed" });
      await expect(queue.enqueue(message("ten_a", { idempotencyKey: "a\r\nb" }))).rejects.toMatchObject({
        code: "validation_failed",
      });
      expect(await queue.depth()).toBe(0);
      expect((await queue.listDeadLetters("*")).items).toEqual([]);
    });
  });
}
