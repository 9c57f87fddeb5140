import { z } from "@hono/zod-openapi";
import type { StatsFigures, StatsWindow } from "@isle/db";

/** `hours`: how far back stats look, 1 hour to 7 days. */
export const hoursParam = z.coerce
  .number()
  .int()
  .min(1)
  .max(168)
  .default(24)
  .openapi({ param: { name: "hours", in: "query" }, description: "How many hours back, 1–168", example: 24 });

/** A window of `hours` ending now: `to` is the next whole second, so a record started this instant counts. */
export function windowEnding(nowMs: number, hours: number): { from: Date; to: Date } {
  const to = Math.ceil(nowMs / 1000) * 1000;
  return { from: new Date(to - hours * 3_600_000), to: new Date(to) };
}

/**
 * `buckets` equal buckets covering at least the last `hours`, ending now. A bucket is a whole
 * number of seconds (⌈hours × 3600 / buckets⌉), so when `buckets` does not divide the window
 * the window starts up to `buckets` − 1 seconds earlier than `hours` asks.
 */
export function bucketedWindow(nowMs: number, hours: number, buckets: number): StatsWindow & { to: Date } {
  const { to } = windowEnding(nowMs, hours);
  const bucketSeconds = Math.ceil((hours * 3600) / buckets);
  return { from: new Date(to.getTime() - buckets * bucketSeconds * 1000), to, bucketSeconds, buckets };
}

export const figuresSchema = z.object({
  requests: z.number().int().openapi({ description: "Invocations that ended in the window (queued or running ones are left out)" }),
  errors: z.number().int().openapi({ description: "Of those, the ones whose status is not `succeeded`" }),
  p50Ms: z.number().nullable().openapi({ description: "Median duration in ms (interpolated); null without requests" }),
  p95Ms: z.number().nullable().openapi({ description: "95th percentile duration in ms (interpolated); null without requests" }),
});

export function figuresView(f: StatsFigures) {
  return { requests: f.requests, errors: f.errors, p50Ms: f.p50Ms, p95Ms: f.p95Ms };
}
