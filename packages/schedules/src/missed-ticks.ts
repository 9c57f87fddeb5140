import type { CronSchedule } from "./cron.js";

/** What to do with a schedule whose tick is due. */
export interface TickPlan {
  /** The tick to enqueue now: the most recent one due, while it is within the catch-up window. */
  run: Date | undefined;
  /** Due ticks that will never run: those before the most recent, and it too when it is too late. */
  skipped: number;
  /** True when `skipped` stopped counting at {@link maxCountedSkips}: at least that many. */
  skippedAtLeast: boolean;
  /** The schedule's next tick, strictly after `now`; undefined when it never runs again. */
  next: Date | undefined;
}

/** Skipped ticks are counted up to this many (a per-second schedule down for a day has 86 400). */
export const maxCountedSkips = 100;

/**
 * The missed-tick policy (ADR 0019): ticks are coalesced, never replayed. Of the ticks due by
 * `now`, starting at the stored `due`, only the most recent runs, and only when it is at most
 * `catchUpMs` late; the others are skipped (and counted, for the log). So a platform back from
 * an outage runs each schedule at most once for the time it was down, and a tick that only just
 * passed — the normal case, a poll or two late — runs. `now` is a parameter: the caller passes the
 * database's clock, so gateways agree, and tests pass theirs.
 */
export function planTick(schedule: CronSchedule, due: Date, now: Date, catchUpMs: number): TickPlan {
  if (due.getTime() > now.getTime()) return { run: undefined, skipped: 0, skippedAtLeast: false, next: due };
  const latestRun = schedule.latestAtOrBefore(now);
  // `due` was computed from this expression, but a stored tick is a tick even if it was not.
  const latest = latestRun && latestRun.getTime() > due.getTime() ? latestRun : due;

  let skipped = 0;
  for (let t: Date | undefined = due; t && t.getTime() < latest.getTime() && skipped < maxCountedSkips; t = schedule.nextAfter(t)) {
    skipped++;
  }
  const skippedAtLeast = skipped === maxCountedSkips;
  const onTime = now.getTime() - latest.getTime() <= catchUpMs;
  return {
    run: onTime ? latest : undefined,
    skipped: onTime || skippedAtLeast ? skipped : skipped + 1,
    skippedAtLeast,
    next: schedule.nextAfter(now),
  };
}
