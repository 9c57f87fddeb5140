import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { queueUnavailable } from "../errors.js";
import type { QueueSettings } from "../settings.js";
import type { JetStreamNames } from "./names.js";

/** How to reach NATS, and the JetStream settings beyond the shared queue settings. */
export interface JetStreamConnectionOptions {
  /** `NATS_URL`: one server URL or several, comma-separated. */
  url: string;
  /** Give up a first connection after this long. Default 2 s. */
  connectTimeoutMs: number;
  /** Wait this long for a publish acknowledgement or an API answer. Default 5 s. */
  requestTimeoutMs: number;
  /** The work stream's duplicate window for `Nats-Msg-Id`. Default 2 min (at most the idempotency window). */
  dedupWindowMs: number;
  /** Deliveries unacknowledged at once across all consumers, waits in backoff included. Default 10 000. */
  maxAckPending: number;
  /** Stream replicas in a NATS cluster. Default 1. */
  replicas: number;
}

/** A connected JetStream with the queue's streams, consumer and bucket in place. */
export interface JetStreamContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  idempotency: KV;
}

/**
 * Connects lazily and keeps one connection. The client reconnects by itself after a drop; while
 * it is disconnected `get()` rejects at once with `unavailable` instead of letting a publish wait
 * in the client's buffer for its acknowledgement to time out — an async invoke answers 503 then.
 */
export class JetStreamConnection {
  readonly #options: JetStreamConnectionOptions;
  readonly #settings: QueueSettings;
  readonly #names: JetStreamNames;
  #context: Promise<JetStreamContext> | undefined;
  /** The current connection; the state below is about it alone. */
  #nc: NatsConnection | undefined;
  #connected = false;
  #closed = false;

  constructor(options: JetStreamConnectionOptions, settings: QueueSettings, names: JetStreamNames) {
    this.#options = options;
    this.#settings = settings;
    this.#names = names;
  }

  /** The context, connecting first if needed; rejects with `unavailable` when NATS cannot be reached. */
  async get(): Promise<JetStreamContext> {
    if (this.#closed) throw queueUnavailable(new Error("the queue is closed"));
    const pending = (this.#context ??= this.#open());
    let context: JetStreamContext;
    try {
      context = await pending;
    } catch (err) {
      if (this.#context === pending) this.#context = undefined;
      throw queueUnavailable(err);
    }
    if (!this.#connected) throw queueUnavailable(new Error("disconnected from NATS"));
    return context;
  }

  async #open(): Promise<JetStreamContext> {
    const nc = await connect({
      servers: this.#options.url.split(",").map((s) => s.trim()),
      timeout: this.#options.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      name: `isle-queue-${this.#settings.name}`,
    });
    this.#nc = nc;
    this.#connected = true;
    void this.#watch(nc);
    try {
      const js = jetstream(nc, { timeout: this.#options.requestTimeoutMs });
      const jsm = await jetstreamManager(nc, { timeout: this.#options.requestTimeoutMs });
      await this.#ensureResources(jsm);
      const idempotency = await new Kvm(js).create(this.#names.idempotencyBucket, {
        ttl: this.#settings.idempotencyWindowMs,
        history: 1,
        replicas: this.#options.replicas,
        storage: StorageType.File,
      });
      return { nc, js, jsm, idempotency };
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** Follow the connection's state; once it closes for good, the next `get()` connects anew. */
  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#nc !== nc) return;
      if (status.type === "close") break;
      if (status.type === "disconnect") this.#connected = false;
      if (status.type === "reconnect") this.#connected = true;
    }
    if (this.#nc !== nc) return;
    this.#nc = undefined;
    this.#connected = false;
    this.#context = undefined;
  }

  /** Create the streams and the consumer, or bring their settings up to date. */
  async #ensureResources(jsm: JetStreamManager): Promise<void> {
    const { replicas, dedupWindowMs, maxAckPending } = this.#options;
    const names = this.#names;
    await ensureStream(jsm, {
      name: names.stream,
      subjects: [names.workSubject("*")],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: replicas,
      duplicate_window: nanos(dedupWindowMs),
    });
    await ensureStream(jsm, {
      name: names.deadStream,
      subjects: [names.deadSubject("*", "*")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: replicas,
      // One entry per message id: a message dead again after a retry replaces its old entry.
      max_msgs_per_subject: 1,
      duplicate_window: nanos(dedupWindowMs),
    });
    const consumer: Partial<ConsumerConfig> = {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.#settings.visibilityTimeoutMs),
      // One delivery past the last attempt: it only buries a message whose last attempt's
      // consumer died (the consumer loop dead-letters it without running it).
      max_deliver: this.#settings.maxAttempts + 1,
      max_ack_pending: maxAckPending,
    };
    try {
      await jsm.consumers.add(names.stream, consumer);
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
      await jsm.consumers.update(names.stream, names.consumer, consumer);
    }
  }

  /** Close the connection if one was opened; `get()` fails from then on. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#context;
    this.#context = undefined;
    const context = await pending?.catch(() => undefined);
    await context?.nc.close().catch(() => {});
  }
}

// JetStream's "stream name already in use with a different configuration".
const streamNameInUse = 10058;

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === streamNameInUse)) throw err;
    await jsm.streams.update(config.name, config);
  }
}
