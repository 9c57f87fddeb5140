import { Cron, CronPattern, type CronOptions } from "croner";

/**
 * How expressions are read: five fields (minute hour day-of-month month day-of-week) or six
 * with seconds first, and croner's nicknames (`@hourly`, `@daily`, …). When both day fields are
 * restricted, a day matching either runs (as in Vixie cron). Never a year field, never `?` (croner
 * reads it as "the value at parse time", which would differ between gateways).
 */
const options = { mode: "5-or-6-parts", domAndDow: false } as const satisfies CronOptions;

/** The default time zone of a schedule. */
export const defaultTimeZone = "UTC";

/** A parsed cron expression in its time zone: when it runs. */
export class CronSchedule {
  readonly #cron: Cron;

  /** Throws with croner's message when the expression or the zone is not valid. */
  constructor(
    readonly expression: string,
    readonly timeZone: string = defaultTimeZone,
  ) {
    if (expression.includes("?")) throw new Error("'?' is not supported; use '*'");
    // Always a zone: without one croner would use the process's local time.
    this.#cron = new Cron(expression, { ...options, timezone: timeZone, paused: true });
  }

  /** The first run strictly after `after`, or undefined when it never runs again. */
  nextAfter(after: Date): Date | undefined {
    return this.#cron.nextRun(after) ?? undefined;
  }

  /** The latest run at or before `at`, or undefined when there is none. */
  latestAtOrBefore(at: Date): Date | undefined {
    // previousRuns is strictly before its reference, to the second; a run exactly at `at` counts.
    const [latest] = this.#cron.previousRuns(1, new Date(Math.floor(at.getTime() / 1000) * 1000 + 1000));
    return latest && latest.getTime() <= at.getTime() ? latest : undefined;
  }

  /**
   * The shortest time between two runs in seconds when it is under `limit`, else undefined. Read
   * from the expression's wall-clock times of day (seconds × minutes × hours) and from whether
   * two matching days can follow each other, so it is exact whatever the day fields say. A time
   * zone's change of clocks is left out: it can bring two runs closer once, when an hour repeats.
   */
  intervalUnder(limit: number, from: Date = new Date()): number | undefined {
    const pattern = new CronPattern(this.expression, undefined, options);
    const times: number[] = [];
    for (let h = 0; h < 24; h++) {
      if (!pattern.hour[h]) continue;
      for (let m = 0; m < 60; m++) {
        if (!pattern.minute[m]) continue;
        for (let s = 0; s < 60; s++) if (pattern.second[s]) times.push(h * 3600 + m * 60 + s);
      }
    }
    let shortest = Infinity;
    for (let i = 1; i < times.length; i++) shortest = Math.min(shortest, times[i]! - times[i - 1]!);
    const first = times[0];
    const last = times.at(-1);
    if (first !== undefined && last !== undefined) {
      // From a day's last run to the next day's first: only when two matching days are adjacent.
      const acrossMidnight = 86_400 - last + first;
      if (acrossMidnight < Math.min(shortest, limit) && this.#hasAdjacentDays(from)) shortest = acrossMidnight;
    }
    return shortest < limit ? shortest : undefined;
  }

  /**
   * Whether two consecutive days both have runs, looked for over eight years from `from` (every
   * combination of leap year and weekday comes round in that time), in UTC.
   */
  #hasAdjacentDays(from: Date): boolean {
    const utc = new Cron(this.expression, { ...options, timezone: "UTC", paused: true });
    const dayMs = 86_400_000;
    const end = from.getTime() + 8 * 366 * dayMs;
    let previousDay: number | undefined;
    for (let run = utc.nextRun(from); run && run.getTime() < end; ) {
      const day = Math.floor(run.getTime() / dayMs);
      if (previousDay !== undefined && day === previousDay + 1) return true;
      previousDay = day;
      // The first run of a later day: search from the last second of this one.
      run = utc.nextRun(new Date((day + 1) * dayMs - 1000));
    }
    return false;
  }
}

/** Why an expression cannot be used, or undefined when it can. */
export function cronProblem(expression: string, now: Date = new Date()): string | undefined {
  try {
    const schedule = new CronSchedule(expression);
    if (!schedule.nextAfter(now)) return "never runs";
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, "");
  }
}

/** Whether `name` is a time zone this process knows (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  // Offsets such as +02:00 are refused: a zone name follows its clock changes, an offset does not.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
