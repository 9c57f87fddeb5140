import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocations, type NewInvocation } from "@isle/db";
import { errorOf, operatorToken, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";
import { bucketedWindow, windowEnding } from "./window.js";

describe("stats windows", () => {
  const now = Date.parse("2026-11-01T12:00:00.250Z");

  it("ends at the next whole second and reaches back the hours asked", () => {
    expect(windowEnding(now, 24)).toEqual({ from: new Date("2026-10-31T12:00:01Z"), to: new Date("2026-11-01T12:00:01Z") });
  });

  it("cuts the window into whole-second buckets, starting earlier when they do not divide it", () => {
    expect(bucketedWindow(now, 24, 24)).toMatchObject({ bucketSeconds: 3600, buckets: 24, from: new Date("2026-10-31T12:00:01Z") });
    expect(bucketedWindow(now, 2, 8)).toMatchObject({ bucketSeconds: 900, from: new Date("2026-11-01T10:00:01Z") });
    // 3600 / 7 = 514.3 s: buckets of 515 s, 5 s more than the hour.
    expect(bucketedWindow(now, 1, 7)).toMatchObject({ bucketSeconds: 515, from: new Date("2026-11-01T10:59:56Z") });
  });
});

describe("stats routes", () => {
  let gw: TestGateway;
  const hour = 3_600_000;
  beforeAll(async () => {
    gw = await startTestGateway();
    const acme = await gw.createTenant("acme");
    const other = await gw.createTenant("other");
    const fnId = async (tenant: string, name: string) =>
      ((await (await gw.operator(`/v1/tenants/${tenant}/functions/${name}`, { method: "PUT", json: {} })).json()) as { id: string }).id;
    const [api, cron] = [await fnId("acme", "api"), await fnId("acme", "cron")];
    await fnId("acme", "idle");
    const theirs = await fnId("other", "api");
    const now = Date.now();
    let n = 0;
    const row = (tenantId: string, functionId: string, agoMs: number, status: string, durationMs: number): NewInvocation => ({
      id: `inv_${n++}`,
      tenantId,
      functionId,
      mode: "sync",
      status,
      startedAt: new Date(now - agoMs),
      durationMs,
    });
    await gw.database.db.insert(invocations).values([
      // Within the last hour: 4 requests of api, one failed.
      row(acme.id, api, 60_000, "succeeded", 10),
      row(acme.id, api, 120_000, "succeeded", 20),
      row(acme.id, api, 180_000, "failed", 30),
      row(acme.id, api, 240_000, "succeeded", 40),
      // Five hours ago, and two days ago (out of the default 24 hours).
      row(acme.id, api, 5 * hour, "succeeded", 100),
      row(acme.id, api, 48 * hour, "succeeded", 100),
      row(acme.id, cron, 2 * hour, "dead", 5),
      row(acme.id, cron, 3 * hour, "queued", 0),
      row(other.id, theirs, 60_000, "failed", 1),
    ]);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  type FunctionStats = {
    from: string;
    to: string;
    bucketSeconds: number;
    totals: { requests: number; errors: number; p50Ms: number | null; p95Ms: number | null };
    buckets: Array<{ start: string; requests: number; errors: number; p50Ms: number | null; p95Ms: number | null }>;
  };
  const get = async <T>(path: string, credential = operatorToken): Promise<T> => {
    const res = await gw.request(path, {}, credential);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };

  it("answers a function's totals and every bucket of the last 24 hours by default", async () => {
    const stats = await get<FunctionStats>("/v1/tenants/acme/functions/api/stats");
    expect(stats.bucketSeconds).toBe(3600);
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(24 * hour);
    expect(stats.totals).toEqual({ requests: 5, errors: 1, p50Ms: 30, p95Ms: expect.closeTo(88, 6) });
    expect(stats.buckets).toHaveLength(24);
    expect(stats.buckets.map((b, i) => Date.parse(b.start) - Date.parse(stats.from) - i * hour)).toEqual(Array(24).fill(0));
    expect(stats.buckets.at(-1)).toEqual({ start: expect.any(String), requests: 4, errors: 1, p50Ms: 25, p95Ms: expect.closeTo(38.5, 6) });
    expect(stats.buckets.filter((b) => b.requests > 0).map((b) => b.requests)).toEqual([1, 4]);
    expect(stats.buckets[0]).toEqual({ start: stats.from, requests: 0, errors: 0, p50Ms: null, p95Ms: null });
  });

  it("takes hours and buckets", async () => {
    const stats = await get<FunctionStats>("/v1/tenants/acme/functions/api/stats?hours=1&buckets=4");
    expect(stats.bucketSeconds).toBe(900);
    expect(stats.buckets).toHaveLength(4);
    expect(stats.totals).toMatchObject({ requests: 4, errors: 1 });
    const week = await get<FunctionStats>("/v1/tenants/acme/functions/api/stats?hours=168&buckets=7");
    expect([week.bucketSeconds, week.buckets.length, week.totals.requests]).toEqual([86_400, 7, 6]);
    const idle = await get<FunctionStats>("/v1/tenants/acme/functions/idle/stats?hours=3");
    expect(idle.buckets).toHaveLength(3);
    expect(idle.totals).toEqual({ requests: 0, errors: 0, p50Ms: null, p95Ms: null });
  });

  it("lists every function of the tenant with its requests and errors", async () => {
    const stats = await get<{ from: string; to: string; functions: unknown[] }>("/v1/tenants/acme/stats");
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(24 * hour);
    expect(stats.functions).toEqual([
      { name: "api", requests: 5, errors: 1 },
      { name: "cron", requests: 1, errors: 1 },
      { name: "idle", requests: 0, errors: 0 },
    ]);
    expect((await get<{ functions: unknown[] }>("/v1/tenants/acme/stats?hours=1")).functions).toEqual([
      { name: "api", requests: 4, errors: 1 },
      { name: "cron", requests: 0, errors: 0 },
      { name: "idle", requests: 0, errors: 0 },
    ]);
  });

  it("refuses bad queries naming the parameter", async () => {
    for (const [path, message] of [
      ["/v1/tenants/acme/functions/api/stats?hours=0", /^hours/],
      ["/v1/tenants/acme/functions/api/stats?hours=169", /^hours/],
      ["/v1/tenants/acme/functions/api/stats?hours=1.5", /^hours/],
      ["/v1/tenants/acme/functions/api/stats?buckets=0", /^buckets/],
      ["/v1/tenants/acme/functions/api/stats?buckets=200", /^buckets/],
      ["/v1/tenants/acme/functions/api/stats?buckets=many", /^buckets/],
      ["/v1/tenants/acme/functions/api/stats?color=red", /unknown field color/],
      ["/v1/tenants/acme/stats?hours=-1", /^hours/],
      ["/v1/tenants/acme/stats?buckets=4", /unknown field buckets/],
    ] as const) {
      const res = await gw.operator(path);
      expect(res.status, path).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(message) });
    }
  });

  it("answers 404 for a missing function, and keeps other tenants' keys out", async () => {
    expect(await errorOf(await gw.operator("/v1/tenants/acme/functions/nothing/stats"))).toMatchObject({ code: "not_found" });
    const { key } = await gw.createKey("other", { name: "reader", scopes: ["read"] });
    for (const path of ["/v1/tenants/acme/functions/api/stats", "/v1/tenants/acme/stats"]) {
      const res = await gw.request(path, {}, key);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toContain("api");
    }
    // Its own tenant's stats show its own function only.
    expect((await get<{ functions: unknown[] }>("/v1/tenants/other/stats", key)).functions).toEqual([{ name: "api", requests: 1, errors: 1 }]);
  });

  it("lets a read key in, and shows a function-restricted key only its function", async () => {
    const reader = await gw.createKey("acme", { name: "reader", scopes: ["read"] });
    expect((await get<FunctionStats>("/v1/tenants/acme/functions/api/stats", reader.key)).totals.requests).toBe(5);
    const cronOnly = await gw.createKey("acme", { name: "cron-only", scopes: ["read"], functionName: "cron" });
    expect((await get<{ functions: unknown[] }>("/v1/tenants/acme/stats", cronOnly.key)).functions).toEqual([{ name: "cron", requests: 1, errors: 1 }]);
    expect((await get<FunctionStats>("/v1/tenants/acme/functions/cron/stats", cronOnly.key)).totals.requests).toBe(1);
    expect((await gw.request("/v1/tenants/acme/functions/api/stats", {}, cronOnly.key)).status).toBe(404);
  });
});
