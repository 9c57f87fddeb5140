import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea } from "./bytea.js";

/**
 * Where a queued message is: waiting (`queued`, perhaps in backoff), leased to a consumer
 * (`running`), done (`succeeded`), or given up on after its attempts (`dead`).
 */
export type QueueMessageStatus = "queued" | "running" | "succeeded" | "dead";

/**
 * The table queue behind async invocations when no NATS server is configured (@isle/queue's
 * PgQueue). One table serves several named queues. Tenant and function ids are plain text, not
 * foreign keys, for the reason the invocation records give: the enqueue on the 202 path must
 * not fail because a row it mentions is being deleted, and the consumer decides what a message
 * for a vanished function means.
 */
export const queueMessages = pgTable(
  "queue_messages",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    tenantId: text("tenant_id").notNull(),
    functionId: text("function_id").notNull(),
    /** The client's `Idempotency-Key`; released (set to null) once the window has passed. */
    idempotencyKey: text("idempotency_key"),
    payload: bytea("payload").notNull(),
    /** True when `payload` is UTF-8 JSON the producer gave as an object, false for raw bytes. */
    payloadJson: boolean("payload_json").notNull(),
    status: text("status").$type<QueueMessageStatus>().notNull().default("queued"),
    /** Deliveries so far; a claim adds one, and its value is the delivery's lease token. */
    attempts: integer("attempts").notNull().default(0),
    /** The delivery past which a failure dead-letters the message. */
    maxAttempts: integer("max_attempts").notNull(),
    /**
     * When the message may next be claimed: for `queued`, now or the end of its backoff; for
     * `running`, the end of its lease (the visibility timeout), after which it is claimed again.
     */
    visibleAt: timestamp("visible_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
    enqueuedAt: timestamp("enqueued_at", { withTimezone: true }).notNull().defaultNow(),
    /** When it succeeded or went dead. */
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    check("queue_messages_status_check", sql`${t.status} in ('queued', 'running', 'succeeded', 'dead')`),
    // Idempotency: one live message per key and tenant in a queue. Null keys never collide.
    uniqueIndex("queue_messages_idempotency_idx").on(t.queue, t.tenantId, t.idempotencyKey),
    // The claim: what is due, oldest first, among the messages still to run.
    index("queue_messages_due_idx")
      .on(t.queue, t.visibleAt)
      .where(sql`${t.status} in ('queued', 'running')`),
    // The sweep of succeeded messages whose idempotency window has passed.
    index("queue_messages_succeeded_idx")
      .on(t.queue, t.finishedAt)
      .where(sql`${t.status} = 'succeeded'`),
    // A tenant's dead letters, in the order they died.
    index("queue_messages_dead_idx")
      .on(t.queue, t.tenantId, t.finishedAt, t.id)
      .where(sql`${t.status} = 'dead'`),
  ],
);

export type QueueMessageRow = typeof queueMessages.$inferSelect;
