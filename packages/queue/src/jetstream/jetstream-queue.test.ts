import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe } from "vitest";
import { describeQueueContract } from "../test-support/contract.js";
import { JetStreamQueue } from "./jetstream-queue.js";
import { jetStreamNames } from "./names.js";

/** The machine's NATS server (scripts/services.sh starts it with JetStream). */
const natsUrl = "nats://127.0.0.1:4222";

describe("JetStreamQueue", () => {
  let admin: NatsConnection;
  beforeAll(async () => {
    admin = await connect({ servers: natsUrl });
  });
  afterAll(async () => {
    await admin?.close();
  });

  describeQueueContract("nats", () => ({
    open: (options) => new JetStreamQueue({ url: natsUrl, ...options }),
    // Each queue holds its own connection, which closing the queue closed.
    async restart() {},
    async cleanup(name) {
      const jsm = await jetstreamManager(admin);
      const names = jetStreamNames(name);
      for (const stream of [names.stream, names.deadStream, `KV_${names.idempotencyBucket}`]) {
        await jsm.streams.delete(stream).catch(() => {});
      }
    },
  }));
});
