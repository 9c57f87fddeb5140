import { createHash } from "node:crypto";
import { IsleError } from "@isle/errors";
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { Consumers } from "../consumers.js";
import { checkMessage, isToken, queueUnavailable } from "../errors.js";
import { encodePayload, type EncodedPayload } from "../payload.js";
import { checkInteger, resolveSettings, type QueueOptions, type QueueSettings } from "../settings.js";
import type * as q from "../types.js";
import { JetStreamConnection, type JetStreamConnectionOptions, type JetStreamContext } from "./connection.js";
import { listDeadLetters, retryDeadLetter } from "./dead-letters.js";
import { messageHeaders } from "./headers.js";
import { JetStreamDeliverySource } from "./jetstream-delivery-source.js";
import { jetStreamNames, type JetStreamNames } from "./names.js";

export interface JetStreamQueueOptions extends QueueOptions, Partial<Omit<JetStreamConnectionOptions, "url">> {
  /** `NATS_URL`. */
  url: string;
}

// JetStream's "wrong last sequence": a key-value create found the key present.
const keyExists = 10071;

/**
 * The queue on NATS JetStream: a work-queue stream per queue, one durable pull consumer with
 * explicit acknowledgement shared by every process, `ack_wait` as the visibility timeout
 * (`working()` extends it), `nak(delay)` for backoff, `max_deliver` with a dead-letter stream,
 * `Nats-Msg-Id` dedup of republished ids, and a key-value bucket for idempotency keys.
 */
export class JetStreamQueue implements q.InvocationQueue {
  readonly #settings: QueueSettings;
  readonly #names: JetStreamNames;
  readonly #connection: JetStreamConnection;
  readonly #dedupWindowMs: number;
  readonly #consumers = new Consumers();

  constructor(options: JetStreamQueueOptions) {
    this.#settings = resolveSettings(options);
    this.#names = jetStreamNames(this.#settings.name);
    const connection: JetStreamConnectionOptions = {
      url: options.url,
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
      dedupWindowMs: options.dedupWindowMs ?? Math.min(120_000, this.#settings.idempotencyWindowMs),
      maxAckPending: options.maxAckPending ?? 10_000,
      replicas: options.replicas ?? 1,
    };
    checkInteger("connectTimeoutMs", connection.connectTimeoutMs, 100, 60_000);
    checkInteger("requestTimeoutMs", connection.requestTimeoutMs, 100, 60_000);
    checkInteger("dedupWindowMs", connection.dedupWindowMs, 1_000, this.#settings.idempotencyWindowMs);
    checkInteger("maxAckPending", connection.maxAckPending, 1, 1_000_000);
    checkInteger("replicas", connection.replicas, 1, 5);
    this.#dedupWindowMs = connection.dedupWindowMs;
    this.#connection = new JetStreamConnection(connection, this.#settings, this.#names);
  }

  async enqueue(message: q.QueueMessage): Promise<q.EnqueueResult> {
    checkMessage(message);
    const payload = encodePayload(message.payload, this.#settings.maxPayloadBytes);
    const context = await this.#connection.get();
    try {
      return await this.#publish(context, message, payload);
    } catch (err) {
      throw err instanceof IsleError ? err : queueUnavailable(err);
    }
  }

  async #publish(context: JetStreamContext, message: q.QueueMessage, payload: EncodedPayload): Promise<q.EnqueueResult> {
    let id = message.id;
    let keyTaken = false;
    if (message.idempotencyKey !== undefined) {
      const owner = await this.#takeKey(context.idempotency, message.tenantId, message.idempotencyKey, id);
      if (owner) {
        id = owner.id;
        keyTaken = true;
        if (!owner.republish) return { id, duplicate: true };
      }
    }
    const fields = { ...message, id, idempotencyKey: message.idempotencyKey, enqueuedAt: new Date(), json: payload.json, attemptOffset: 0 };
    const ack = await context.js.publish(this.#names.workSubject(message.tenantId), payload.bytes, {
      headers: messageHeaders(fields, id),
    });
    return { id, duplicate: keyTaken || ack.duplicate };
  }

  /**
   * Claim an idempotency key for `id`, or find who holds it. The key is stored before the
   * message is published, so an enqueue that died in between leaves a key without a message. A
   * repeat within half the duplicate window therefore publishes again under the holder's id:
   * JetStream drops it if the first publish landed, and stores it if not. Later repeats trust
   * the holder (its publish had long finished, one way or the other).
   */
  async #takeKey(kv: KV, tenantId: string, key: string, id: string): Promise<{ id: string; republish: boolean } | undefined> {
    const kvKey = `${tenantId}.${createHash("sha256").update(key).digest("base64url")}`;
    for (let tries = 0; tries < 3; tries++) {
      try {
        await kv.create(kvKey, id);
        return undefined;
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === keyExists)) throw err;
      }
      const entry = await kv.get(kvKey);
      // Absent: it expired between the two calls; take it again.
      if (entry?.operation === "PUT") {
        return { id: entry.string(), republish: Date.now() - entry.created.getTime() < this.#dedupWindowMs / 2 };
      }
    }
    throw new Error(`idempotency key of tenant ${tenantId} keeps changing hands`);
  }

  consume(handler: q.DeliveryHandler, options: q.ConsumeOptions = {}): q.QueueConsumer {
    const source = new JetStreamDeliverySource(this.#connection, this.#settings, this.#names);
    return this.#consumers.start(source, handler, options, this.#settings);
  }

  async depth(): Promise<number> {
    const { jsm } = await this.#connection.get();
    return (await jsm.streams.info(this.#names.stream)).state.messages;
  }

  async listDeadLetters(tenantId: string, page: q.DeadLetterPageRequest = {}): Promise<q.DeadLetterPage> {
    // A tenant id becomes a subject token: one with a wildcard must not match other tenants.
    if (!isToken(tenantId)) return { items: [], nextCursor: undefined };
    const { jsm } = await this.#connection.get();
    return listDeadLetters(jsm, this.#names, tenantId, page);
  }

  async retryDeadLetter(tenantId: string, id: string): Promise<boolean> {
    if (!isToken(tenantId) || !isToken(id)) return false;
    const { js, jsm } = await this.#connection.get();
    return retryDeadLetter(js, jsm, this.#names, tenantId, id);
  }

  async close(): Promise<void> {
    await this.#consumers.abandonAll();
    await this.#connection.close();
  }
}
