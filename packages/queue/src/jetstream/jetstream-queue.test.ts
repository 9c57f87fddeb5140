import { describe, expect, it } from "vitest";
import { describeQueueContract } from "../test-support/contract.js";
import { JetStreamQueue } from "./jetstream-queue.js";
import { jetStreamNames } from "./names.js";
import { removeJetStreamQueue } from "./remove-queue.js";

/** The machine's NATS server (scripts/services.sh starts it with JetStream). */
const natsUrl = "nats://127.0.0.1:4222";

describe("JetStreamQueue", () => {
  describeQueueContract("nats", () => ({
    open: (options) => new JetStreamQueue({ url: natsUrl, ...options }),
    // Each queue holds its own connection, which closing the queue closed.
    async restart() {},
    async cleanup(name) {
      await removeJetStreamQueue(natsUrl, name);
    },
  }));
});

describe("removeJetStreamQueue", () => {
  it("deletes the work stream, the dead letters and the idempotency bucket, and is quiet about what is gone", async () => {
    const name = `remove-${Math.random().toString(36).slice(2, 10)}`;
    const queue = new JetStreamQueue({ url: natsUrl, name });
    await queue.enqueue({ id: `${name}-1`, tenantId: "t1", functionId: "f1", payload: { body: "x" }, idempotencyKey: "k1" });
    await queue.close();
    const names = jetStreamNames(name);
    const removed = await removeJetStreamQueue(natsUrl, name);
    expect(removed).toContain(names.stream);
    expect(removed).toContain(`KV_${names.idempotencyBucket}`);
    expect(await removeJetStreamQueue(natsUrl, name)).toEqual([]);
  });
});
