import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocations, type NewInvocation } from "../schema/invocations.js";
import { drivers, openTestDatabase, type OpenTestDatabase } from "../test-support/databases.js";
import { upsertFunction } from "./functions.js";
import { functionStats, tenantActivity } from "./invocation-stats.js";
import { createTenant } from "./tenants.js";

describe.each(drivers)("invocation stats (%s)", (driver) => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await opened?.dispose();
  });

  const from = new Date("2026-11-01T00:00:00Z");
  const at = (seconds: number) => new Date(from.getTime() + seconds * 1000);
  let n = 0;
  const row = (tenantId: string, functionId: string, seconds: number, status: string, durationMs: number | null): NewInvocation => ({
    id: `inv_${n++}`,
    tenantId,
    functionId,
    mode: "sync",
    status,
    startedAt: at(seconds),
    durationMs,
  });

  it("counts requests, errors and percentiles per bucket and in total, empty buckets included", async () => {
    const tenant = await createTenant(opened.database.db, "stats");
    const api = await upsertFunction(opened.database.db, tenant.id, "api", {});
    const other = await upsertFunction(opened.database.db, tenant.id, "other", {});
    const elsewhere = await createTenant(opened.database.db, "elsewhere");
    await opened.database.db.insert(invocations).values([
      // Bucket 0 (0–59 s): durations 10..100, one failed, one dead.
      ...Array.from({ length: 10 }, (_, i) => row(tenant.id, api.id, i, i === 3 ? "failed" : i === 7 ? "dead" : "succeeded", (i + 1) * 10)),
      // Bucket 2 (120–179 s): one record, its duration unknown.
      row(tenant.id, api.id, 150, "succeeded", null),
      // Bucket 3, right on its boundary.
      row(tenant.id, api.id, 180, "failed", 7),
      // Not counted: before and at the end of the window, in progress, another function, another tenant.
      row(tenant.id, api.id, -1, "succeeded", 1),
      row(tenant.id, api.id, 240, "succeeded", 1),
      row(tenant.id, api.id, 30, "queued", null),
      row(tenant.id, api.id, 31, "running", null),
      row(tenant.id, api.id, 32, "retrying", 5),
      row(tenant.id, other.id, 30, "failed", 1),
      row(elsewhere.id, api.id, 30, "failed", 1),
    ]);

    const stats = await functionStats(opened.database.db, tenant.id, api.id, { from, bucketSeconds: 60, buckets: 4 });
    expect(stats.buckets).toEqual([
      // percentile_cont interpolates: p50 of 10..100 is 55, p95 is 10 + 0.95 × 90.
      { start: at(0), requests: 10, errors: 2, p50Ms: 55, p95Ms: expect.closeTo(95.5, 6) },
      { start: at(60), requests: 0, errors: 0, p50Ms: null, p95Ms: null },
      { start: at(120), requests: 1, errors: 0, p50Ms: null, p95Ms: null },
      { start: at(180), requests: 1, errors: 1, p50Ms: 7, p95Ms: 7 },
    ]);
    // Of 7, 10, 20, …, 100 (11 durations): p50 is the 6th, 50.
    expect(stats.totals).toEqual({ requests: 12, errors: 3, p50Ms: 50, p95Ms: expect.closeTo(95, 6) });

    const idle = await functionStats(opened.database.db, tenant.id, other.id, { from: at(3600), bucketSeconds: 1, buckets: 3 });
    expect(idle.totals).toEqual({ requests: 0, errors: 0, p50Ms: null, p95Ms: null });
    expect(idle.buckets.map((b) => [b.start, b.requests, b.p95Ms])).toEqual([
      [at(3600), 0, null],
      [at(3601), 0, null],
      [at(3602), 0, null],
    ]);
  });

  it("lists every function of the tenant with its requests and errors, idle ones as zeros", async () => {
    const tenant = await createTenant(opened.database.db, "activity");
    const web = await upsertFunction(opened.database.db, tenant.id, "web", {});
    await upsertFunction(opened.database.db, tenant.id, "idle", {});
    const cron = await upsertFunction(opened.database.db, tenant.id, "cron", {});
    const elsewhere = await createTenant(opened.database.db, "activity-other");
    const theirs = await upsertFunction(opened.database.db, elsewhere.id, "web", {});
    await opened.database.db.insert(invocations).values([
      row(tenant.id, web.id, 0, "succeeded", 1),
      row(tenant.id, web.id, 10, "failed", 1),
      row(tenant.id, web.id, 20, "succeeded", 1),
      row(tenant.id, web.id, 100, "failed", 1), // after the window
      row(tenant.id, cron.id, 5, "queued", null),
      row(tenant.id, cron.id, 6, "dead", 1),
      row(elsewhere.id, theirs.id, 0, "failed", 1),
    ]);
    expect(await tenantActivity(opened.database.db, tenant.id, from, at(100))).toEqual([
      { name: "cron", requests: 1, errors: 1 },
      { name: "idle", requests: 0, errors: 0 },
      { name: "web", requests: 3, errors: 1 },
    ]);
    expect(await tenantActivity(opened.database.db, (await createTenant(opened.database.db, "empty")).id, from, at(100))).toEqual([]);
  });
});
