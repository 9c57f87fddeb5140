import { advisoryLockKeys, deleteExpiredInvocations, listTenants, type Database, type IsleDb, type TenantQuotas } from "@isle/db";
import type { Logger } from "@isle/telemetry";

const hourMs = 3_600_000;

export interface RecordRetentionOptions {
  database: Pick<Database, "db" | "tryWithAdvisoryLock">;
  /** Hours a tenant's records are kept when its quotas name none (`ISLE_RECORD_RETENTION`); 0 keeps them for ever. */
  defaultHours: number;
  logger: Logger;
  /** Told how many records each pass deleted (the gateway's counter). */
  onDeleted?: (count: number) => void;
  /** From the end of one pass to the start of the next. Default 10 minutes. */
  everyMs?: number;
  /** From `start` to the first pass. Default 1 minute: a starting gateway has better things to do. */
  firstAfterMs?: number;
  /**
   * Rows one delete statement takes at most. Default 500: about 18 ms for rows with 2 KiB of
   * logs, on PGlite and on Postgres alike on a development machine.
   */
  batchSize?: number;
  /** The least pause between two full batches (it is at least the last one's time). Default 20 ms. */
  pauseMs?: number;
  /** How much longer than its retention a record still in progress is kept. Default 1 day. */
  inProgressGraceMs?: number;
  /** The clock, in ms since the epoch. */
  now?: () => number;
}

/** What one pass did. */
export interface RetentionPass {
  /** False when another gateway held the lock: this one deleted nothing. */
  ran: boolean;
  deleted: number;
  /** Delete statements run: one per tenant with a retention, plus one per further full batch. */
  statements: number;
}

/**
 * Deletes invocation records older than their tenant's retention (`recordRetentionHours` in the
 * tenant's quotas, else the platform's), every `everyMs`. One gateway works at a time: a pass
 * runs under the `recordRetention` advisory lock, taken without waiting, and a gateway that
 * finds it held skips its turn. Twice at once would still be harmless — each batch locks its
 * rows `SKIP LOCKED` — but would double the load a backlog puts on the database.
 *
 * Work is bounded: per tenant, statements of at most `batchSize` rows, oldest first, with a
 * pause between full ones as long as the last one took, so a large backlog (a retention just
 * shortened) never holds many row locks or a long transaction, and the recorder's writes and
 * the requests go on between batches.
 *
 * A record of an async invocation still queued, running or retrying is written again by its
 * next attempt (which moves its start), so one older than its retention is one whose attempts
 * stopped without a word (its gateway died and the queue gave up, a lost message) or that waits
 * behind a backlog far longer than usual. It is kept `inProgressGraceMs` longer; deleting it
 * even then does no harm, as a later attempt's write inserts it again.
 */
export class RecordRetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: RecordRetentionOptions) {}

  start(): void {
    this.schedule(this.options.firstAfterMs ?? 60_000);
  }

  /** No more passes; a pass under way ends after its current statement. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  /** One pass over every tenant, unless another gateway is making one. */
  async runOnce(): Promise<RetentionPass> {
    const { database, logger } = this.options;
    const started = Date.now();
    const result = await database.tryWithAdvisoryLock(advisoryLockKeys.recordRetention, (db) => this.pass(db));
    if (!result.acquired) {
      logger.debug("expired invocation records: another gateway is deleting them");
      return { ran: false, deleted: 0, statements: 0 };
    }
    const { deleted, statements, tenants } = result.value;
    if (deleted > 0) {
      this.options.onDeleted?.(deleted);
      logger.info({ deleted, tenants, statements, ms: Date.now() - started }, "expired invocation records deleted");
    }
    return { ran: true, deleted, statements };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const pass = this.runOnce()
        .catch((err: unknown) => this.options.logger.warn({ err }, "expired invocation records not deleted; next pass later"))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.options.everyMs ?? 600_000);
        });
      this.running = pass;
    }, delayMs);
    this.timer.unref();
  }

  private async pass(db: IsleDb): Promise<{ deleted: number; statements: number; tenants: number }> {
    const { batchSize = 500, pauseMs = 20, inProgressGraceMs = 24 * hourMs, logger } = this.options;
    const now = (this.options.now ?? Date.now)();
    let deleted = 0;
    let statements = 0;
    let tenants = 0;
    for (const tenant of await listTenants(db)) {
      if (this.stopped) break;
      const hours = retentionHours(tenant.quotas, this.options.defaultHours);
      if (hours === 0) continue;
      const before = new Date(now - hours * hourMs);
      const inProgressBefore = new Date(before.getTime() - inProgressGraceMs);
      let ofTenant = 0;
      while (!this.stopped) {
        const began = Date.now();
        const n = await deleteExpiredInvocations(db, { tenantId: tenant.id, before, inProgressBefore, limit: batchSize });
        statements++;
        ofTenant += n;
        if (n < batchSize) break;
        // At least as long as the statement took: a backlog takes at most half of the database's
        // time (and on PGlite, of the gateway's event loop, which runs the statement).
        await this.pause(Math.max(pauseMs, Date.now() - began));
      }
      if (ofTenant > 0) {
        tenants++;
        deleted += ofTenant;
        logger.debug({ tenantId: tenant.id, deleted: ofTenant, before }, "expired invocation records of a tenant deleted");
      }
    }
    return { deleted, statements, tenants };
  }

  private pause(ms: number): Promise<void> {
    return new Promise((done) => {
      const timer = setTimeout(done, ms);
      this.wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  }
}

/** Hours the tenant's records are kept: its own setting, else the platform's; 0 is for ever. */
export function retentionHours(quotas: TenantQuotas, defaultHours: number): number {
  return quotas.recordRetentionHours ?? defaultHours;
}
