/**
 * @isle/schedules — a function's cron schedules: the schema they are declared with (API, CLI,
 * `isle.json`), when they run (croner, in a time zone), and the missed-tick policy. Pure: no I/O,
 * and time is a parameter.
 */
export { CronSchedule, cronProblem, defaultTimeZone, isTimeZone } from "./cron.js";
export { intervalProblem, type ScheduleProblem } from "./interval.js";
export { maxCountedSkips, planTick, type TickPlan } from "./missed-ticks.js";
export {
  resolveSchedule,
  scheduleLimits,
  scheduleMethods,
  scheduleSchema,
  schedulesSchema,
  type ResolvedSchedule,
  type ScheduleMethod,
  type ScheduleSpec,
} from "./schedule-spec.js";
