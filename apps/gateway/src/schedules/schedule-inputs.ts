import type { ScheduleInput } from "@isle/db";
import { IsleError } from "@isle/errors";
import { CronSchedule, intervalProblem, resolveSchedule, type ScheduleSpec } from "@isle/schedules";

/**
 * Refuses declared schedules that would run more often than the platform's minimum interval
 * (ISLE_SCHEDULE_MIN_INTERVAL_S) with 400 `validation_failed` naming the field; `source` prefixes
 * the name when the schedules come from a file (`isle.json: schedules.0.cron: …`).
 */
export function checkScheduleIntervals(specs: readonly ScheduleSpec[], minIntervalSeconds: number, source?: string): void {
  const problem = intervalProblem(specs, minIntervalSeconds);
  if (problem) throw new IsleError("validation_failed", `${source ? `${source}: ` : ""}schedules.${problem.path.join(".")}: ${problem.message}`);
}

/**
 * Schedules as declared (by `PUT …/schedules` or a repository's config) made ready to store:
 * defaults filled in and each enabled one's first tick after `now`. `replaceSchedules` keeps the
 * stored next tick of a schedule whose timing did not change.
 */
export function scheduleInputs(specs: readonly ScheduleSpec[], now: Date): ScheduleInput[] {
  return specs.map((spec) => {
    const schedule = resolveSchedule(spec);
    const nextRunAt = schedule.enabled ? (new CronSchedule(schedule.cron, schedule.timezone).nextAfter(now) ?? null) : null;
    return { ...schedule, nextRunAt };
  });
}
