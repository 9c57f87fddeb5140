import { advanceSchedule, claimDueSchedules, type ClaimedSchedule, type IsleDb, type NewInvocation } from "@isle/db";
import type { InvocationQueue } from "@isle/queue";
import { CronSchedule, planTick } from "@isle/schedules";
import type { Logger } from "@isle/telemetry";
import type { AsyncPayload } from "../async/async-payload.js";
import { recordQueued } from "../async/queued-record.js";
import { newInvocationId } from "../ids.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";

export interface SchedulerDeps {
  db: IsleDb;
  queue: Pick<InvocationQueue, "enqueue">;
  /** Writes the tick's invocation record (status `queued`), as the async route does at accept. */
  saveRecord: (row: NewInvocation) => Promise<void>;
  logger: Logger;
  /** ISLE_SCHEDULE_CATCHUP_S, in ms: how late the most recent missed tick may still run. */
  catchUpMs: number;
  /** How often due schedules are looked for (±20 %). Default 1 s. */
  pollMs?: number;
  /** How long a claim holds a schedule; a scheduler that died holding one is taken over after it. Default 30 s. */
  leaseMs?: number;
  /** Schedules claimed at once. Default 50. */
  batch?: number;
  /** ISLE_DOMAIN: a tick's request is for `<function>--<tenant>.<domain>`; without it, `localhost`. */
  domain?: string | undefined;
  metrics?: GatewayMetrics;
  /** The id of each enqueued tick's invocation; tests pass their own. */
  newId?: () => string;
}

/** The queue's idempotency key of one tick: the same on every gateway and every retry. */
export const tickKey = (scheduleId: string, tick: Date): string => `schedule:${scheduleId}:${tick.toISOString()}`;

/**
 * Runs on every gateway: claims due schedules from the database (FOR UPDATE SKIP LOCKED, under a
 * lease), and for each enqueues one async invocation of its tick with trigger `timer`, then moves
 * it on to its next tick (ADR 0019). Exactly once across gateways: a claimed schedule is no other
 * gateway's until its lease ends, and a tick enqueued by a gateway that died before moving the
 * schedule on is enqueued again under the same idempotency key ({@link tickKey}), which the
 * queue answers as a duplicate. Missed ticks are coalesced (`planTick`).
 */
export class Scheduler {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly deps: SchedulerDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops looking for due schedules once the round under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { pollMs = 1000, batch = 50, logger } = this.deps;
    while (!this.stopped) {
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (err) {
        logger.warn({ err }, "due schedules not claimed");
      }
      // A full batch may mean more are due: claim again at once. Otherwise wait a poll, ±20 % so
      // that gateways started together do not poll in step (the first after each tick would win them all).
      if (claimed < batch && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs * (0.8 + 0.4 * Math.random()));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** Claims one batch of due schedules and handles each; how many were claimed. */
  async runOnce(): Promise<number> {
    const { db, batch = 50, leaseMs = 30_000 } = this.deps;
    const { now, claimed } = await claimDueSchedules(db, { limit: batch, leaseMs });
    await Promise.all(claimed.map((schedule) => this.handle(schedule, now)));
    return claimed.length;
  }

  private async handle(schedule: ClaimedSchedule, now: Date): Promise<void> {
    const { db, logger, metrics } = this.deps;
    const ids = { tenantId: schedule.tenantId, functionId: schedule.functionId, scheduleId: schedule.id, schedule: schedule.name };
    let cron: CronSchedule;
    try {
      cron = new CronSchedule(schedule.cron, schedule.timezone);
    } catch (err) {
      // Validated when stored; only a change of parser could get here. It stays, stopped, for its owner to fix.
      logger.error({ ...ids, err }, "stored schedule does not parse; it will not run");
      await advanceSchedule(db, { id: schedule.id, claims: schedule.claims, nextRunAt: null });
      return;
    }
    const plan = planTick(cron, schedule.nextRunAt, now, this.deps.catchUpMs);
    let skipped = plan.skipped;
    let ran: { at: Date; invocationId: string } | undefined;
    if (plan.run && !schedule.deployed) {
      skipped++;
      logger.info({ ...ids, tick: plan.run.toISOString() }, "schedule tick skipped: the function has no active deployment");
    } else if (plan.run) {
      try {
        ran = await this.enqueue(schedule, plan.run);
      } catch (err) {
        // The claim is left to expire: then this tick (or, past the catch-up window, the next) is tried again.
        logger.warn({ ...ids, err, tick: plan.run.toISOString() }, "schedule tick not enqueued; tried again when its claim expires");
        return;
      }
    }
    if (plan.skipped > 0) {
      const count = plan.skippedAtLeast ? `${plan.skipped} or more` : String(plan.skipped);
      logger.warn({ ...ids, skipped: count, since: schedule.nextRunAt.toISOString(), ran: ran?.at.toISOString() }, "missed schedule ticks skipped");
    }
    if (skipped > 0) metrics?.scheduleTicks.inc({ outcome: "skipped" }, skipped);
    if (ran) metrics?.scheduleTicks.inc({ outcome: "enqueued" });
    const advanced = await advanceSchedule(db, { id: schedule.id, claims: schedule.claims, nextRunAt: plan.next ?? null, ...(ran ? { ran } : {}) });
    if (!advanced) logger.info({ ...ids }, "schedule changed or claimed elsewhere meanwhile; left as it is");
  }

  /** Enqueues one tick as an async invocation and writes its `queued` record. */
  private async enqueue(schedule: ClaimedSchedule, tick: Date): Promise<{ at: Date; invocationId: string }> {
    const { queue, domain } = this.deps;
    const query = schedule.path.indexOf("?");
    const acceptedAtMs = Date.now();
    const payload: AsyncPayload = {
      tenantName: schedule.tenantName,
      functionName: schedule.functionName,
      method: schedule.method,
      path: query < 0 ? schedule.path : schedule.path.slice(0, query),
      query: query < 0 ? "" : schedule.path.slice(query),
      host: domain ? `${schedule.functionName}--${schedule.tenantName}.${domain}` : "localhost",
      headers: Object.entries(schedule.headers),
      clientIp: undefined,
      body: schedule.body === null ? null : Buffer.from(schedule.body).toString("base64"),
      callbackUrl: undefined,
      trace: { traceparent: "", tracestate: "" },
      acceptedAtMs,
      trigger: "timer",
      schedule: { name: schedule.name, scheduledAt: tick.toISOString() },
    };
    const queued = await queue.enqueue({
      id: (this.deps.newId ?? newInvocationId)(),
      tenantId: schedule.tenantId,
      functionId: schedule.functionId,
      payload,
      idempotencyKey: tickKey(schedule.id, tick),
    });
    // Also for a duplicate (its gateway may have died before writing it): a record already
    // moved on by an attempt is never set back (saveInvocation keeps the latest attempt).
    await recordQueued(this.deps.saveRecord, this.deps.logger, {
      id: queued.id,
      tenantId: schedule.tenantId,
      functionId: schedule.functionId,
      trigger: "timer",
      acceptedAtMs,
    });
    return { at: tick, invocationId: queued.id };
  }
}
