import { describe, expect, it } from "vitest";
import { CronSchedule } from "./cron.js";
import { maxCountedSkips, planTick } from "./missed-ticks.js";

const at = (text: string) => new Date(`2026-06-01T${text}Z`);
const minute = new CronSchedule("* * * * *");
const fiveMinutes = 5 * 60_000;

describe("planTick (the missed-tick policy, on a virtual clock)", () => {
  it("runs a tick that is due now, and moves on to the next one", () => {
    expect(planTick(minute, at("12:00:00"), at("12:00:00.400"), fiveMinutes)).toEqual({
      run: at("12:00:00"),
      skipped: 0,
      skippedAtLeast: false,
      next: at("12:01:00"),
    });
  });

  it("does nothing for a tick that is not due yet", () => {
    expect(planTick(minute, at("12:01:00"), at("12:00:30"), fiveMinutes)).toMatchObject({ run: undefined, skipped: 0, next: at("12:01:00") });
  });

  it("after an outage runs only the most recent missed tick, once, when it is within the catch-up window", () => {
    // Down from 11:57:30 to 12:03:20: the ticks of 11:58 … 12:03 were missed.
    const plan = planTick(minute, at("11:58:00"), at("12:03:20"), fiveMinutes);
    expect(plan).toEqual({ run: at("12:03:00"), skipped: 5, skippedAtLeast: false, next: at("12:04:00") });
  });

  it("skips every missed tick when even the most recent is older than the window", () => {
    const hourly = new CronSchedule("0 * * * *");
    // Down from 09:30 to 12:20; the 12:00 tick is 20 minutes late.
    const plan = planTick(hourly, at("10:00:00"), at("12:20:00"), fiveMinutes);
    expect(plan).toEqual({ run: undefined, skipped: 3, skippedAtLeast: false, next: at("13:00:00") });
    // With a 30-minute window the 12:00 tick still runs.
    expect(planTick(hourly, at("10:00:00"), at("12:20:00"), 30 * 60_000)).toMatchObject({ run: at("12:00:00"), skipped: 2 });
  });

  it("never replays a long outage tick by tick: one plan, a bounded count", () => {
    const everySecond = new CronSchedule("* * * * * *");
    const plan = planTick(everySecond, at("00:00:00"), at("12:00:00.500"), fiveMinutes);
    expect(plan).toEqual({ run: at("12:00:00"), skipped: maxCountedSkips, skippedAtLeast: true, next: at("12:00:01") });
  });

  it("follows the schedule's time zone when working out the most recent tick", () => {
    const nineInBerlin = new CronSchedule("0 9 * * *", "Europe/Berlin");
    // 09:00 in Berlin in June is 07:00 UTC; back at 07:02 UTC, two days' ticks were missed.
    const plan = planTick(nineInBerlin, new Date("2026-05-31T07:00:00Z"), new Date("2026-06-01T07:02:00Z"), fiveMinutes);
    expect(plan).toEqual({ run: new Date("2026-06-01T07:00:00Z"), skipped: 1, skippedAtLeast: false, next: new Date("2026-06-02T07:00:00Z") });
  });
});
