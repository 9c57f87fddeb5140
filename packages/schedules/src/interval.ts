import { CronSchedule } from "./cron.js";

/** A schedule refused by a platform setting, and where: `[index, field]` in the list given. */
export interface ScheduleProblem {
  path: [number, string];
  message: string;
}

/**
 * The first schedule that would run more often than once every `minIntervalSeconds` (the
 * platform's `ISLE_SCHEDULE_MIN_INTERVAL_S`), or undefined. Separate from the schema because the
 * limit is the platform's setting, which a CLI checking `isle.json` may not know.
 */
export function intervalProblem(schedules: ReadonlyArray<{ cron: string }>, minIntervalSeconds: number, now = new Date()): ScheduleProblem | undefined {
  for (const [i, { cron }] of schedules.entries()) {
    const shortest = new CronSchedule(cron).intervalUnder(minIntervalSeconds, now);
    if (shortest !== undefined) {
      return {
        path: [i, "cron"],
        message: `runs as often as every ${shortest} s; this platform allows at most one run every ${minIntervalSeconds} s`,
      };
    }
  }
  return undefined;
}
