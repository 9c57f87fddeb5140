import { describe, expect, it } from "vitest";
import { CronSchedule, cronProblem, isTimeZone } from "./cron.js";

const iso = (d: Date | undefined) => d?.toISOString();

describe("CronSchedule", () => {
  it("runs in UTC by default, whatever the process's own zone", () => {
    const daily = new CronSchedule("0 9 * * *");
    expect(iso(daily.nextAfter(new Date("2026-06-01T12:00:00Z")))).toBe("2026-06-02T09:00:00.000Z");
  });

  it("keeps wall-clock times across a spring-forward change in its zone", () => {
    // Europe/Berlin goes from UTC+1 to UTC+2 on 2026-03-29 at 02:00 local time.
    const daily = new CronSchedule("0 9 * * *", "Europe/Berlin");
    const runs = [new Date("2026-03-27T12:00:00Z")];
    for (let i = 0; i < 3; i++) runs.push(daily.nextAfter(runs.at(-1)!)!);
    expect(runs.slice(1).map(iso)).toEqual(["2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
  });

  it("runs a fixed time that falls in the skipped hour once, just after it, and a repeated hour's time once", () => {
    const early = new CronSchedule("30 2 * * *", "Europe/Berlin");
    // 02:30 does not exist on 2026-03-29: it runs at 03:00 CEST (01:00 UTC).
    expect(iso(early.nextAfter(new Date("2026-03-28T12:00:00Z")))).toBe("2026-03-29T01:00:00.000Z");
    // 02:30 happens twice on 2026-10-25 (CEST, then CET): one run, then the next day's.
    const first = early.nextAfter(new Date("2026-10-24T12:00:00Z"))!;
    expect(iso(first)).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(early.nextAfter(first))).toBe("2026-10-26T01:30:00.000Z");
  });

  it("runs an hourly schedule every real hour across a fall-back change", () => {
    const hourly = new CronSchedule("0 * * * *", "America/New_York");
    const runs = [new Date("2026-11-01T04:30:00Z")];
    for (let i = 0; i < 4; i++) runs.push(hourly.nextAfter(runs.at(-1)!)!);
    expect(runs.slice(1).map(iso)).toEqual(["2026-11-01T05:00:00.000Z", "2026-11-01T06:00:00.000Z", "2026-11-01T07:00:00.000Z", "2026-11-01T08:00:00.000Z"]);
  });

  it("finds the latest run at or before an instant, the instant itself included", () => {
    const quarter = new CronSchedule("*/15 * * * *");
    expect(iso(quarter.latestAtOrBefore(new Date("2026-06-01T12:14:59.999Z")))).toBe("2026-06-01T12:00:00.000Z");
    expect(iso(quarter.latestAtOrBefore(new Date("2026-06-01T12:15:00.000Z")))).toBe("2026-06-01T12:15:00.000Z");
    expect(iso(new CronSchedule("* * * * * *").latestAtOrBefore(new Date("2026-06-01T12:00:07.300Z")))).toBe("2026-06-01T12:00:07.000Z");
  });

  it("measures the shortest interval, across midnight only when two matching days are adjacent", () => {
    const from = new Date("2026-06-01T00:00:00Z");
    const under = (cron: string, limit: number) => new CronSchedule(cron).intervalUnder(limit, from);
    expect(under("* * * * *", 61)).toBe(60);
    expect(under("* * * * *", 60)).toBeUndefined();
    expect(under("*/10 * * * * *", 60)).toBe(10);
    expect(under("0,30 * * * * *", 60)).toBe(30);
    expect(under("0 9 * * *", 86_400)).toBeUndefined();
    // 23:59 then 00:00 the next day, every day.
    expect(under("0,59 0,23 * * *", 60 * 60)).toBe(60);
    // The same times on the 1st of the month only: no two days in a row.
    expect(under("0,59 0,23 1 * *", 60 * 60)).toBe(59 * 60);
    // Monday and Tuesday follow each other; Monday and Wednesday do not.
    expect(under("0,59 0,23 * * 1,2", 30 * 60)).toBe(60);
    expect(under("0,59 0,23 * * 1,3", 30 * 60)).toBeUndefined();
  });
});

describe("cronProblem", () => {
  it("accepts five and six fields and nicknames", () => {
    for (const cron of ["*/5 * * * *", "30 */5 * * * *", "0 9 * * MON-FRI", "@hourly", "0 0 L * *"]) expect(cronProblem(cron), cron).toBeUndefined();
  });

  it("says what is wrong", () => {
    expect(cronProblem("61 * * * *")).toMatch(/minute/);
    expect(cronProblem("* * *")).toMatch(/five, six, or seven/);
    expect(cronProblem("* * * * * * *")).toMatch(/5 or 6 parts/);
    expect(cronProblem("0 0 30 2 *")).toBe("never runs");
    expect(cronProblem("? * * * *")).toMatch(/'\?' is not supported/);
  });
});

describe("isTimeZone", () => {
  it("knows IANA names and UTC, not offsets or made-up names", () => {
    for (const name of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]) expect(isTimeZone(name), name).toBe(true);
    for (const name of ["+02:00", "Mars/Olympus", "", "Europe/Berlin; drop"]) expect(isTimeZone(name), name).toBe(false);
  });
});
