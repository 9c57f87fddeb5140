import { and, asc, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import type { IsleDb, Unlisten } from "@isle/db";
import { queueMessages } from "@isle/db";
import { sleep, type DeliverySource, type Lease, type Settlement } from "../consumer-loop.js";
import { decodePayload } from "../payload.js";
import type { QueueSettings } from "../settings.js";

export interface PgDeliverySourceOptions {
  db: IsleDb;
  settings: QueueSettings;
  pollIntervalMs: number;
  sweepIntervalMs: number;
  /** Arrange for `wake` to be called when a message may have arrived. */
  subscribe(wake: () => void): Promise<Unlisten>;
}

const m = queueMessages;
// Dead and finished times are kept to the millisecond so a JavaScript Date names them exactly
// (the dead-letter cursor compares them).
const nowMs = sql`date_trunc('milliseconds', now())`;
const after = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;
const emptyPayload = Buffer.alloc(0);

type UpdateSet = PgUpdateSetSource<typeof m>;
type ClaimedRow = Pick<
  typeof m.$inferSelect,
  "id" | "tenantId" | "functionId" | "idempotencyKey" | "payload" | "payloadJson" | "attempts" | "maxAttempts" | "enqueuedAt"
>;

/** Claims due rows of one queue for a consumer loop, and settles them. */
export class PgDeliverySource implements DeliverySource {
  readonly #options: PgDeliverySourceOptions;
  #unlisten: Promise<Unlisten | undefined> | undefined;
  #woken = false;
  #wake: (() => void) | undefined;
  #lastSweep = 0;

  constructor(options: PgDeliverySourceOptions) {
    this.#options = options;
  }

  async take(max: number): Promise<Lease[]> {
    this.#unlisten ??= this.#options.subscribe(() => this.#onWake()).catch((err: unknown) => {
      // Without notifications the loop still polls.
      this.#options.settings.onError(err);
      return undefined;
    });
    await this.#unlisten;
    this.#woken = false;
    if (Date.now() - this.#lastSweep >= this.#options.sweepIntervalMs) {
      this.#lastSweep = Date.now();
      await this.#sweep();
    }
    return (await this.#claim(max)).map((row) => this.#lease(row));
  }

  /**
   * One statement: lock up to `max` due rows no other consumer holds, and lease them. A due row
   * is a queued one whose backoff has ended, or a running one whose lease expired (its consumer
   * died or overran), which is how at-least-once comes about.
   */
  #claim(max: number): Promise<ClaimedRow[]> {
    const { db, settings } = this.#options;
    const due = db
      .select({ id: m.id })
      .from(m)
      .where(and(eq(m.queue, settings.name), inArray(m.status, ["queued", "running"]), lte(m.visibleAt, sql`now()`)))
      .orderBy(asc(m.visibleAt))
      .limit(max)
      .for("update", { skipLocked: true });
    return db
      .update(m)
      .set({ status: "running", attempts: sql`${m.attempts} + 1`, visibleAt: after(settings.visibilityTimeoutMs) })
      .where(inArray(m.id, due))
      .returning({
        id: m.id,
        tenantId: m.tenantId,
        functionId: m.functionId,
        idempotencyKey: m.idempotencyKey,
        payload: m.payload,
        payloadJson: m.payloadJson,
        attempts: m.attempts,
        maxAttempts: m.maxAttempts,
        enqueuedAt: m.enqueuedAt,
      });
  }

  #lease(row: ClaimedRow): Lease {
    const { settings } = this.#options;
    const attempt = row.attempts;
    // The attempt number is the lease token: a later claim of the same row has a higher one.
    const update = async (set: UpdateSet, what: string) => {
      const updated = await this.#options.db
        .update(m)
        .set(set)
        .where(and(eq(m.id, row.id), eq(m.status, "running"), eq(m.attempts, attempt)))
        .returning({ id: m.id });
      if (updated.length === 0) {
        settings.onError(
          new Error(`queue message ${row.id}: attempt ${attempt} could not ${what}; its lease had expired and passed on`),
        );
      }
    };
    return {
      delivery: {
        id: row.id,
        tenantId: row.tenantId,
        functionId: row.functionId,
        payload: decodePayload(row.payload, row.payloadJson),
        idempotencyKey: row.idempotencyKey ?? undefined,
        attempt,
        maxAttempts: row.maxAttempts,
        enqueuedAt: row.enqueuedAt,
        extend: () => update({ visibleAt: after(settings.visibilityTimeoutMs) }, "extend"),
      },
      settle: (s) => update(settlementColumns(s), s.kind),
      release: () => update({ status: "queued", attempts: sql`${m.attempts} - 1`, visibleAt: sql`now()` }, "release"),
    };
  }

  /** Delete succeeded rows whose idempotency window has passed, a bounded batch at a time. */
  async #sweep(): Promise<void> {
    const { db, settings } = this.#options;
    const old = db
      .select({ id: m.id })
      .from(m)
      .where(
        and(
          eq(m.queue, settings.name),
          eq(m.status, "succeeded"),
          lt(m.finishedAt, sql`now() - ${settings.idempotencyWindowMs} * interval '1 millisecond'`),
        ),
      )
      .limit(1000);
    await db.delete(m).where(inArray(m.id, old));
  }

  #onWake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async idle(signal: AbortSignal): Promise<void> {
    if (this.#woken) return;
    const woken = new AbortController();
    const onAbort = () => woken.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#wake = onAbort;
    try {
      await sleep(this.#options.pollIntervalMs, woken.signal);
    } finally {
      this.#wake = undefined;
      signal.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    const unlisten = await this.#unlisten;
    await unlisten?.();
  }
}

function settlementColumns(s: Settlement): UpdateSet {
  switch (s.kind) {
    case "ack":
      // The payload is not needed any more; the row stays only to hold its idempotency key.
      return { status: "succeeded", finishedAt: nowMs, payload: emptyPayload };
    case "retry":
      return { status: "queued", visibleAt: after(s.delayMs), lastError: s.error };
    case "dead":
      return { status: "dead", finishedAt: nowMs, lastError: s.error, attempts: s.attempts };
  }
}
