import { describe, expect, it } from "vitest";
import { intervalProblem } from "./interval.js";
import { resolveSchedule, scheduleLimits, schedulesSchema } from "./schedule-spec.js";

/** The first problem as the API states it: the field's path, then what is wrong. */
function problem(input: unknown): string | undefined {
  const parsed = schedulesSchema.safeParse(input);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.join(".")}: ${issue.message}`;
}

const ok = { name: "nightly", cron: "0 3 * * *" };

describe("schedulesSchema", () => {
  it("accepts a full schedule and fills in the defaults of a bare one", () => {
    const full = {
      name: "report",
      cron: "*/5 * * * *",
      timezone: "Europe/Berlin",
      method: "PUT",
      path: "/jobs/report?full=1",
      headers: { "content-type": "application/json" },
      body: '{"kind":"weekly"}',
      enabled: false,
    };
    expect(problem([full, ok])).toBeUndefined();
    expect(resolveSchedule(schedulesSchema.parse([ok])[0]!)).toEqual({
      name: "nightly",
      cron: "0 3 * * *",
      timezone: "UTC",
      method: "POST",
      path: "/",
      headers: {},
      body: null,
      enabled: true,
    });
  });

  it("names the field of each mistake", () => {
    const cases: Array<[unknown, RegExp]> = [
      [[{ ...ok, cron: "61 * * * *" }], /^0\.cron: Invalid value for minute/],
      [[{ ...ok, cron: "0 0 31 2 *" }], /^0\.cron: never runs$/],
      [[ok, { ...ok, name: "other", timezone: "Mars/Olympus" }], /^1\.timezone: not an IANA time zone/],
      [[{ ...ok, timezone: "+02:00" }], /^0\.timezone: /],
      [[{ ...ok, name: "Nightly" }], /^0\.name: must be a DNS label/],
      [[ok, ok], /^1\.name: the name nightly is used twice$/],
      [[{ ...ok, method: "TRACE" }], /^0\.method: /],
      [[{ ...ok, path: "jobs" }], /^0\.path: must start with \//],
      [[{ ...ok, path: "/a b" }], /^0\.path: /],
      [[{ ...ok, headers: { "x-isle-attempt": "9" } }], /^0\.headers\.x-isle-attempt: x-isle-\* headers are set by the platform$/],
      [[{ ...ok, headers: { Authorization: "Bearer x" } }], /^0\.headers\.Authorization: this header cannot be set/],
      [[{ ...ok, headers: { "a b": "1" } }], /^0\.headers\.a b: not a header name$/],
      [[{ ...ok, headers: { "x-a": "1", "X-A": "2" } }], /^0\.headers\.X-A: given twice$/],
      [[{ ...ok, headers: { "x-a": "line\nbreak" } }], /^0\.headers\.x-a: header values are printable ASCII$/],
      [[{ ...ok, body: "x".repeat(scheduleLimits.bodyBytes + 1) }], /^0\.body: at most 65536 bytes$/],
      [[{ ...ok, body: "é".repeat(scheduleLimits.bodyBytes / 2 + 1) }], /^0\.body: at most 65536 bytes$/],
      [[{ ...ok, method: "GET", body: "x" }], /^0\.body: a GET request has no body$/],
      [[{ ...ok, every: "5m" }], /^0: Unrecognized key: "every"$/],
      [Array.from({ length: scheduleLimits.perFunction + 1 }, (_, i) => ({ ...ok, name: `s${i}` })), /^: at most 10 schedules per function$/],
    ];
    for (const [input, expected] of cases) expect(problem(input), JSON.stringify(input).slice(0, 120)).toMatch(expected);
  });

  it("accepts twenty headers and refuses a twenty-first", () => {
    const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "1"]));
    expect(problem([{ ...ok, headers: headers(scheduleLimits.headers) }])).toBeUndefined();
    expect(problem([{ ...ok, headers: headers(scheduleLimits.headers + 1) }])).toBe("0.headers: at most 20 headers");
  });
});

describe("intervalProblem", () => {
  it("refuses a schedule that runs more often than the platform allows, naming it", () => {
    const schedules = [{ cron: "0 * * * *" }, { cron: "*/30 * * * * *" }];
    expect(intervalProblem(schedules, 60)).toEqual({
      path: [1, "cron"],
      message: "runs as often as every 30 s; this platform allows at most one run every 60 s",
    });
    expect(intervalProblem(schedules, 30)).toBeUndefined();
    expect(intervalProblem([{ cron: "* * * * *" }], 60)).toBeUndefined();
  });
});
