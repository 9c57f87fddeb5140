import { z } from "zod";
import { cronProblem, defaultTimeZone, isTimeZone } from "./cron.js";

/** What a function's schedules may hold; the same for the API, the CLI and `isle.json`. */
export const scheduleLimits = {
  /** Schedules per function. */
  perFunction: 10,
  /** Bytes of a schedule's body (UTF-8). */
  bodyBytes: 64 * 1024,
  headers: 20,
  headerValueChars: 4096,
  pathChars: 2048,
} as const;

/** Methods a schedule may invoke with. */
export const scheduleMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
export type ScheduleMethod = (typeof scheduleMethods)[number];

/**
 * Headers a schedule may not set: those of the connection, the platform's own (`x-isle-*`, which
 * carry the invocation's facts), and credentials, which the invoke path strips anyway and which a
 * schedule would keep in plain sight (a function reads its secrets instead).
 */
const refusedHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "authorization",
  "proxy-authorization",
  "x-api-key",
]);

/** A header name as RFC 9110 allows it (a token). */
const headerToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const headersSchema = z
  .record(z.string(), z.string().max(scheduleLimits.headerValueChars).regex(/^[\t\x20-\x7e]*$/, "header values are printable ASCII"))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > scheduleLimits.headers) {
      ctx.addIssue({ code: "custom", message: `at most ${scheduleLimits.headers} headers` });
    }
    const seen = new Set<string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      const problem = !headerToken.test(name)
        ? "not a header name"
        : lower.startsWith("x-isle-")
          ? "x-isle-* headers are set by the platform"
          : refusedHeaders.has(lower)
            ? "this header cannot be set by a schedule"
            : seen.has(lower)
              ? "given twice"
              : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [name] });
      seen.add(lower);
    }
  });

/**
 * One schedule of a function: a cron expression (five fields, or six with seconds first) in a
 * time zone, and the request each tick sends the function. Fields left out take their defaults
 * (`timezone` UTC, `method` POST, `path` "/", no headers, no body, enabled).
 */
export const scheduleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(dnsLabel, "must be a DNS label: a-z, 0-9 and '-', at most 63 characters")
      .meta({ description: "Unique within the function; the function sees it as `x-isle-schedule`" }),
    cron: z
      .string()
      .max(256)
      .superRefine((value, ctx) => {
        const problem = cronProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .meta({
        description:
          "Five fields (minute hour day-of-month month day-of-week), or six with seconds first; names (MON, JAN), ranges, " +
          "lists, steps, L, W, # and nicknames (@hourly, @daily, …). A day matching either day field runs.",
        examples: ["*/5 * * * *", "0 9 * * MON-FRI"],
      }),
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, "not an IANA time zone name (such as Europe/Berlin or UTC)")
      .meta({ description: "IANA time zone the expression is read in; default UTC" })
      .optional(),
    method: z.enum(scheduleMethods).meta({ description: "Default POST" }).optional(),
    path: z
      .string()
      .max(scheduleLimits.pathChars)
      .regex(/^\/[\x21-\x22\x24-\x7e]*$/, "must start with / and hold printable ASCII without spaces or '#' (percent-encode the rest)")
      .meta({ description: "Path and query the function is invoked with; default /" })
      .optional(),
    headers: headersSchema
      .meta({ description: `Request headers, at most ${scheduleLimits.headers}; not x-isle-*, credentials or connection headers` })
      .optional(),
    body: z
      .string()
      .refine((body) => Buffer.byteLength(body) <= scheduleLimits.bodyBytes, `at most ${scheduleLimits.bodyBytes} bytes`)
      .meta({ description: `Request body, at most ${scheduleLimits.bodyBytes} bytes of UTF-8; none by default` })
      .optional(),
    enabled: z.boolean().meta({ description: "Default true; a disabled schedule keeps its settings and does not run" }).optional(),
  })
  .superRefine((schedule, ctx) => {
    if (schedule.body !== undefined && (schedule.method === "GET" || schedule.method === "HEAD")) {
      ctx.addIssue({ code: "custom", message: `a ${schedule.method} request has no body`, path: ["body"] });
    }
  });

/** A function's schedules, each named once. */
export const schedulesSchema = z
  .array(scheduleSchema)
  .max(scheduleLimits.perFunction, `at most ${scheduleLimits.perFunction} schedules per function`)
  .superRefine((schedules, ctx) => {
    const names = new Set<string>();
    schedules.forEach((schedule, i) => {
      if (names.has(schedule.name)) ctx.addIssue({ code: "custom", message: `the name ${schedule.name} is used twice`, path: [i, "name"] });
      names.add(schedule.name);
    });
  });

/** A schedule as declared. */
export type ScheduleSpec = z.infer<typeof scheduleSchema>;

/** A schedule with its defaults filled in. */
export interface ResolvedSchedule {
  name: string;
  cron: string;
  timezone: string;
  method: ScheduleMethod;
  path: string;
  headers: Record<string, string>;
  /** Null for none. */
  body: string | null;
  enabled: boolean;
}

/** Fills in a schedule's defaults. */
export function resolveSchedule(spec: ScheduleSpec): ResolvedSchedule {
  return {
    name: spec.name,
    cron: spec.cron,
    timezone: spec.timezone ?? defaultTimeZone,
    method: spec.method ?? "POST",
    path: spec.path ?? "/",
    headers: spec.headers ?? {},
    body: spec.body ?? null,
    enabled: spec.enabled ?? true,
  };
}
