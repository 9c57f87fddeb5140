import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { DeliverySource, Lease, Settlement } from "../consumer-loop.js";
import { decodePayload } from "../payload.js";
import type { QueueSettings } from "../settings.js";
import type { JetStreamConnection } from "./connection.js";
import { deadLetter } from "./dead-letters.js";
import { readFields } from "./headers.js";
import type { JetStreamNames } from "./names.js";

/** How long one pull waits for a message before the loop asks again (and notices a stop). */
const pullExpiresMs = 1_000;

/**
 * Pulls from the queue's durable consumer one message at a time, so a consumer never holds more
 * deliveries than it has free slots (a prefetched message's ack wait would be running already).
 */
export class JetStreamDeliverySource implements DeliverySource {
  readonly #connection: JetStreamConnection;
  readonly #settings: QueueSettings;
  readonly #names: JetStreamNames;
  #consumer: { nc: unknown; consumer: Consumer } | undefined;

  constructor(connection: JetStreamConnection, settings: QueueSettings, names: JetStreamNames) {
    this.#connection = connection;
    this.#settings = settings;
    this.#names = names;
  }

  async take(): Promise<Lease[]> {
    const context = await this.#connection.get();
    // Bound to one connection: after a reconnect-from-scratch the consumer is looked up anew.
    if (this.#consumer?.nc !== context.nc) {
      this.#consumer = { nc: context.nc, consumer: await context.js.consumers.get(this.#names.stream, this.#names.consumer) };
    }
    const msg = await this.#consumer.consumer.next({ expires: pullExpiresMs });
    return msg ? [this.#lease(msg)] : [];
  }

  #lease(msg: JsMsg): Lease {
    const fields = readFields(msg.headers);
    return {
      delivery: {
        id: fields.id,
        tenantId: fields.tenantId,
        functionId: fields.functionId,
        payload: decodePayload(msg.data, fields.json),
        idempotencyKey: fields.idempotencyKey,
        attempt: fields.attemptOffset + msg.info.deliveryCount,
        maxAttempts: fields.attemptOffset + this.#settings.maxAttempts,
        enqueuedAt: fields.enqueuedAt,
        extend: async () => msg.working(),
      },
      settle: (s) => this.#settle(msg, s),
      // Handing it back counts as a delivery: JetStream cannot take one back uncounted.
      release: async () => msg.nak(),
    };
  }

  async #settle(msg: JsMsg, s: Settlement): Promise<void> {
    switch (s.kind) {
      case "ack":
        // Confirmed: once this resolves, the message is gone from the work-queue stream.
        await msg.ackAck();
        return;
      case "retry":
        // Not confirmed; if it is lost, the ack wait expires and the message comes back anyway.
        msg.nak(s.delayMs);
        return;
      case "dead": {
        const context = await this.#connection.get();
        await deadLetter(context.js, this.#names, msg, s);
        // An acknowledgement, not a `term`, because it is confirmed: on a delivery already at
        // max_deliver a lost term would leave the message in the stream for ever.
        await msg.ackAck();
        return;
      }
    }
  }

  async idle(): Promise<void> {
    // `take` already waited for a message.
  }

  async close(): Promise<void> {}
}
