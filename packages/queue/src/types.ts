/**
 * A message's body: raw bytes, or a JSON-serialisable object. A delivery hands back the same
 * kind it was given: a `Uint8Array` for bytes, the parsed value for an object.
 */
export type QueuePayload = Uint8Array | object;

/** One unit of work, usually an async invocation. */
export interface QueueMessage {
  /** Globally unique; the invocation id. Enqueueing an id that is already stored stores nothing. */
  id: string;
  tenantId: string;
  functionId: string;
  payload: QueuePayload;
  /**
   * The client's `Idempotency-Key`. Within the idempotency window, a second message with the same
   * key for the same tenant stores nothing and answers with the first message's id.
   */
  idempotencyKey?: string;
}

/** What an enqueue did. */
export interface EnqueueResult {
  /** The stored message's id: this message's, or the first one's when `duplicate`. */
  id: string;
  /** True when an earlier message with the same id or idempotency key was found. */
  duplicate: boolean;
}

/** One delivery of a message to a consumer. */
export interface Delivery {
  id: string;
  tenantId: string;
  functionId: string;
  payload: QueuePayload;
  idempotencyKey: string | undefined;
  /**
   * Which delivery this is, 1 on the first. A consumer that crashed or overran its visibility
   * timeout still counts, so a function may see attempt ≥ 2 without an earlier failure answer.
   * Keeps counting after a dead letter is retried.
   */
  attempt: number;
  /** The delivery after whose failure the message is dead-lettered. */
  maxAttempts: number;
  enqueuedAt: Date;
  /**
   * Keep the message invisible to other consumers for another full visibility timeout from now.
   * Call it more often than the visibility timeout while the work runs. (JetStream's in-progress
   * acknowledgement resets its ack wait to the full value; there is no other duration to ask for.)
   */
  extend(): Promise<void>;
}

/**
 * What a handler may answer besides resolving (done) or throwing (retry after backoff):
 * retry, perhaps after a delay of its own (a `Retry-After`), or give up at once.
 */
export type HandlerVerdict =
  | { outcome: "retry"; error: string; delayMs?: number }
  | { outcome: "dead"; error: string };

/**
 * Runs one delivery. Resolving with nothing acknowledges the message; throwing or returning a
 * retry verdict makes it run again after backoff, or dead-letters it when this was its last
 * attempt.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<HandlerVerdict | void>;

export interface ConsumeOptions {
  /** Deliveries running at once in this consumer; 1 unless given. */
  concurrency?: number;
}

export interface StopOptions {
  /**
   * How long to wait for running handlers before abandoning them; default 10 s. An abandoned
   * delivery is neither acknowledged nor retried: like after a crash, it comes back once its
   * visibility timeout passes, with the next attempt number.
   */
  drainMs?: number;
}

/** A running consumer. */
export interface QueueConsumer {
  /** Stop taking deliveries, wait for running handlers (see {@link StopOptions}). Idempotent. */
  stop(options?: StopOptions): Promise<void>;
}

/** A message that used up its attempts (or that its handler gave up on). */
export interface DeadLetter {
  id: string;
  tenantId: string;
  functionId: string;
  payload: QueuePayload;
  idempotencyKey: string | undefined;
  /** Deliveries made, the last one included. */
  attempts: number;
  /** The last failure. */
  error: string;
  enqueuedAt: Date;
  deadAt: Date;
}

/** Paging through a tenant's dead letters, oldest first. */
export interface DeadLetterPageRequest {
  /** 1–1000, default 100. */
  limit?: number;
  /** From the previous page's `nextCursor`. */
  cursor?: string;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  /** Present when there may be more. */
  nextCursor: string | undefined;
}

/**
 * The durable queue behind async invocations (DESIGN.md §7, G2): at-least-once delivery with
 * visibility timeouts, retries with backoff, dead letters, and idempotency keys.
 * Implementations: PgQueue (a table, PGlite or Postgres) and JetStreamQueue (NATS JetStream).
 */
export interface InvocationQueue {
  /**
   * Store a message. Resolves only once it is durably stored (or found stored already); rejects
   * with an IsleError — `unavailable` when the backing store cannot be reached in time,
   * `payload_too_large` past the size limit, `validation_failed` for an unusable id — and then
   * the message may or may not have been stored: enqueueing it again with the same id is safe.
   */
  enqueue(message: QueueMessage): Promise<EnqueueResult>;
  /** Start delivering messages to `handler`. Errors of the backing store are retried, not thrown. */
  consume(handler: DeliveryHandler, options?: ConsumeOptions): QueueConsumer;
  /** Messages stored and not yet finished: waiting, in backoff or running (not dead letters). */
  depth(): Promise<number>;
  /** A tenant's dead letters, oldest first. */
  listDeadLetters(tenantId: string, page?: DeadLetterPageRequest): Promise<DeadLetterPage>;
  /**
   * Make a dead letter runnable again at once, with a fresh budget of attempts; attempt numbers
   * continue from where they stopped. False when the tenant has no such dead letter.
   */
  retryDeadLetter(tenantId: string, id: string): Promise<boolean>;
  /** Stop every consumer (abandoning running handlers) and release what the queue opened itself. */
  close(): Promise<void>;
}
