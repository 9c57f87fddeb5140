import { and, asc, eq, gt, inArray, lt, or, sql } from "drizzle-orm";
import type { Database, IsleDb, Unlisten } from "@isle/db";
import { queueMessages } from "@isle/db";
import { Consumers } from "../consumers.js";
import { checkMessage, queueUnavailable } from "../errors.js";
import { decodePayload, encodePayload } from "../payload.js";
import { resolveSettings, checkInteger, type QueueOptions, type QueueSettings } from "../settings.js";
import type * as q from "../types.js";
import { pageLimit } from "../page-limit.js";
import { decodeDeadLetterCursor, encodeDeadLetterCursor } from "./dead-letter-cursor.js";
import { PgDeliverySource } from "./pg-delivery-source.js";

/** The NOTIFY channel enqueues wake consumers on; the payload is the queue's name. */
export const notifyChannel = "isle_queue";

export interface PgQueueOptions extends QueueOptions {
  /**
   * The database. On Postgres, with `listen`, consumers also wake on other processes' enqueues
   * (NOTIFY) rather than only at their next poll; PGlite has one owning process, so the queue's
   * own enqueues are all there is to wake for.
   */
  database: Pick<Database, "db" | "kind"> & Partial<Pick<Database, "listen">>;
  /** How often an idle consumer looks for due messages (backoffs ending, leases expiring). Default 1 s. */
  pollIntervalMs?: number;
  /** How often succeeded messages past the idempotency window are deleted. Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * The table queue: one `queue_messages` row per message, claimed with `FOR UPDATE SKIP LOCKED`
 * (so any number of gateways share a Postgres, and PGlite's one connection serialises it),
 * leased until `visible_at`, retried with backoff and dead-lettered in place.
 */
export class PgQueue implements q.InvocationQueue {
  readonly #db: IsleDb;
  readonly #listen: Database["listen"] | undefined;
  readonly #settings: QueueSettings;
  readonly #pollIntervalMs: number;
  readonly #sweepIntervalMs: number;
  readonly #consumers = new Consumers();
  /** Wakes this process's own consumers on its own enqueues, whatever NOTIFY does. */
  readonly #localWakers = new Set<() => void>();

  constructor(options: PgQueueOptions) {
    this.#settings = resolveSettings(options);
    this.#db = options.database.db;
    this.#listen = options.database.kind === "postgres" ? options.database.listen : undefined;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    checkInteger("pollIntervalMs", this.#pollIntervalMs, 10, 60_000);
    checkInteger("sweepIntervalMs", this.#sweepIntervalMs, 1_000, 24 * 60 * 60 * 1000);
  }

  async enqueue(message: q.QueueMessage): Promise<q.EnqueueResult> {
    checkMessage(message);
    const { bytes, json } = encodePayload(message.payload, this.#settings.maxPayloadBytes);
    const row = {
      id: message.id,
      queue: this.#settings.name,
      tenantId: message.tenantId,
      functionId: message.functionId,
      idempotencyKey: message.idempotencyKey ?? null,
      payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      payloadJson: json,
      maxAttempts: this.#settings.maxAttempts,
    };
    let result: q.EnqueueResult;
    try {
      const key = row.idempotencyKey;
      result = key === null ? await this.#insert(this.#db, row) : await this.#insertKeyed({ ...row, idempotencyKey: key });
    } catch (err) {
      throw queueUnavailable(err);
    }
    if (!result.duplicate) this.#notify();
    return result;
  }

  /** Insert unless the key (or the id) is taken; either way, which message is stored. */
  async #insert(db: IsleDb, row: typeof queueMessages.$inferInsert): Promise<q.EnqueueResult> {
    const m = queueMessages;
    const inserted = await db.insert(m).values(row).onConflictDoNothing().returning({ id: m.id });
    if (inserted.length > 0) return { id: row.id, duplicate: false };
    const key = row.idempotencyKey;
    const [holder] = key == null ? [] : await db.select({ id: m.id }).from(m).where(this.#keyIs(row.tenantId, key));
    const [existing] = holder ? [holder] : await db.select({ id: m.id }).from(m).where(eq(m.id, row.id));
    if (!existing) throw new Error(`queue message ${row.id} conflicted with a row that is gone`);
    return { id: existing.id, duplicate: true };
  }

  /**
   * With an idempotency key: first release the key from a message enqueued before the window
   * (so the unique index only ever holds keys still within it), then insert. In one transaction,
   * so on Postgres a concurrent enqueue with the same key waits on the unique index and then
   * finds this message.
   */
  #insertKeyed(row: typeof queueMessages.$inferInsert & { idempotencyKey: string }): Promise<q.EnqueueResult> {
    return this.#db.transaction(async (tx) => {
      await tx
        .update(queueMessages)
        .set({ idempotencyKey: null })
        .where(
          and(
            this.#keyIs(row.tenantId, row.idempotencyKey),
            lt(queueMessages.enqueuedAt, sql`now() - ${this.#settings.idempotencyWindowMs} * interval '1 millisecond'`),
          ),
        );
      return this.#insert(tx, row);
    });
  }

  #keyIs(tenantId: string, key: string) {
    return and(
      eq(queueMessages.queue, this.#settings.name),
      eq(queueMessages.tenantId, tenantId),
      eq(queueMessages.idempotencyKey, key),
    );
  }

  #notify(): void {
    for (const wake of this.#localWakers) wake();
    if (!this.#listen) return;
    // A hint for consumers in other processes; they poll anyway, so a lost one costs latency only.
    this.#db.execute(sql`select pg_notify(${notifyChannel}, ${this.#settings.name})`).catch(this.#settings.onError);
  }

  consume(handler: q.DeliveryHandler, options: q.ConsumeOptions = {}): q.QueueConsumer {
    const source = new PgDeliverySource({
      db: this.#db,
      settings: this.#settings,
      pollIntervalMs: this.#pollIntervalMs,
      sweepIntervalMs: this.#sweepIntervalMs,
      subscribe: (wake) => this.#subscribe(wake),
    });
    return this.#consumers.start(source, handler, options, this.#settings);
  }

  /** Call `wake` on enqueues here and, when LISTEN is available, on NOTIFY from elsewhere. */
  async #subscribe(wake: () => void): Promise<Unlisten> {
    this.#localWakers.add(wake);
    const unlisten = await this.#listen?.(notifyChannel, (payload) => {
      if (payload === undefined || payload === this.#settings.name) wake();
    });
    return async () => {
      this.#localWakers.delete(wake);
      await unlisten?.();
    };
  }

  async depth(): Promise<number> {
    const [row] = await this.#db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(queueMessages)
      .where(and(eq(queueMessages.queue, this.#settings.name), inArray(queueMessages.status, ["queued", "running"])));
    return row?.n ?? 0;
  }

  async listDeadLetters(tenantId: string, page: q.DeadLetterPageRequest = {}): Promise<q.DeadLetterPage> {
    const limit = pageLimit(page.limit);
    const after = page.cursor === undefined ? undefined : decodeDeadLetterCursor(page.cursor);
    const m = queueMessages;
    const rows = await this.#db
      .select()
      .from(m)
      .where(
        and(
          eq(m.queue, this.#settings.name),
          eq(m.tenantId, tenantId),
          eq(m.status, "dead"),
          after && or(gt(m.finishedAt, after.deadAt), and(eq(m.finishedAt, after.deadAt), gt(m.id, after.id))),
        ),
      )
      .orderBy(asc(m.finishedAt), asc(m.id))
      .limit(limit + 1);
    const items: q.DeadLetter[] = rows.slice(0, limit).map((r) => ({
      id: r.id,
      tenantId: r.tenantId,
      functionId: r.functionId,
      payload: decodePayload(r.payload, r.payloadJson),
      idempotencyKey: r.idempotencyKey ?? undefined,
      attempts: r.attempts,
      error: r.lastError ?? "",
      enqueuedAt: r.enqueuedAt,
      deadAt: r.finishedAt ?? r.enqueuedAt,
    }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeDeadLetterCursor(last) : undefined };
  }

  async retryDeadLetter(tenantId: string, id: string): Promise<boolean> {
    const m = queueMessages;
    const retried = await this.#db
      .update(m)
      .set({
        status: "queued",
        visibleAt: sql`now()`,
        maxAttempts: sql`${m.attempts} + ${this.#settings.maxAttempts}`,
        finishedAt: null,
      })
      .where(and(eq(m.queue, this.#settings.name), eq(m.tenantId, tenantId), eq(m.id, id), eq(m.status, "dead")))
      .returning({ id: m.id });
    if (retried.length > 0) this.#notify();
    return retried.length > 0;
  }

  async close(): Promise<void> {
    await this.#consumers.abandonAll();
  }
}
