/**
 * @isle/queue — the durable queue behind async invocations: one interface (InvocationQueue),
 * a table queue on PGlite or Postgres (PgQueue) and a NATS JetStream queue (JetStreamQueue).
 */
export type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterPage,
  DeadLetterPageRequest,
  Delivery,
  DeliveryHandler,
  EnqueueResult,
  HandlerVerdict,
  InvocationQueue,
  QueueConsumer,
  QueueMessage,
  QueuePayload,
  StopOptions,
} from "./types.js";
export type { QueueOptions } from "./settings.js";
export { backoffDelay, defaultBackoff, type BackoffPolicy } from "./backoff.js";
export { PgQueue, type PgQueueOptions } from "./pg/pg-queue.js";
export { JetStreamQueue, type JetStreamQueueOptions } from "./jetstream/jetstream-queue.js";
export { removeJetStreamQueue } from "./jetstream/remove-queue.js";
export { createQueue, type CreateQueueOptions } from "./create-queue.js";
