import type { ScheduleInput } from "@isle/db";
import { CronSchedule, resolveSchedule, type ScheduleSpec } from "@isle/schedules";

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
