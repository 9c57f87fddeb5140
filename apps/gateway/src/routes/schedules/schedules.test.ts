import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronSchedule } from "@isle/schedules";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

interface View {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  enabled: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
}

describe("schedule routes", () => {
  let gw: TestGateway;
  const url = "/v1/tenants/acme/functions/reports/schedules";
  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.createTenant("acme");
    for (const fn of ["reports", "other"]) expect((await gw.operator(`/v1/tenants/acme/functions/${fn}`, { method: "PUT", json: {} })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const put = async (schedules: unknown[], path = url) => gw.operator(path, { method: "PUT", json: { schedules } });
  const list = async () => ((await (await gw.operator(url)).json()) as { schedules: View[] }).schedules;

  it("stores a set with its defaults and shows each schedule's next run in its time zone", async () => {
    const before = new Date();
    const res = await put([
      { name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin" },
      { name: "poke", cron: "*/5 * * * *", method: "GET", path: "/poke?deep=1", headers: { "x-kind": "poke" } },
    ]);
    expect(res.status).toBe(200);
    const { schedules } = (await res.json()) as { schedules: View[] };
    expect(schedules.map((s) => s.name)).toEqual(["nightly", "poke"]);
    expect(schedules[0]).toMatchObject({ cron: "0 3 * * *", timezone: "Europe/Berlin", method: "POST", path: "/", headers: {}, body: null, enabled: true, lastRunAt: null });
    expect(schedules[1]).toMatchObject({ timezone: "UTC", method: "GET", path: "/poke?deep=1", headers: { "x-kind": "poke" } });
    const expected = new CronSchedule("0 3 * * *", "Europe/Berlin").nextAfter(before)!;
    expect(schedules[0]!.nextRunAt).toBe(expected.toISOString());
    const next = new Date(schedules[1]!.nextRunAt!);
    expect(next.getTime()).toBeGreaterThan(before.getTime());
    expect(next.getTime() - before.getTime()).toBeLessThanOrEqual(5 * 60_000);
    expect(next.getUTCMinutes() % 5).toBe(0);
    expect(await list()).toEqual(schedules);
  });

  it("replaces the set: an unchanged timing keeps its next run, a changed one restarts, a missing one goes", async () => {
    await put([
      { name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin" },
      { name: "poke", cron: "*/5 * * * *" },
    ]);
    const [nightly, poke] = await list();
    await put([
      { name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", body: "full run" },
      { name: "poke", cron: "0 12 * * *" },
      { name: "paused", cron: "* * * * *", enabled: false },
    ]);
    const byName = Object.fromEntries((await list()).map((s) => [s.name, s]));
    expect(byName.nightly).toMatchObject({ id: nightly!.id, nextRunAt: nightly!.nextRunAt, body: "full run" });
    expect(byName.poke!.id).toBe(poke!.id);
    expect(new Date(byName.poke!.nextRunAt!).getUTCHours()).toBe(12);
    expect(byName.paused).toMatchObject({ enabled: false, nextRunAt: null });
    await put([{ name: "paused", cron: "* * * * *", enabled: false }]);
    expect((await list()).map((s) => s.name)).toEqual(["paused"]);
    expect((await put([])).status).toBe(200);
    expect(await list()).toEqual([]);
  });

  it("refuses bad schedules, naming the field, and stores nothing", async () => {
    await put([{ name: "kept", cron: "0 * * * *" }]);
    const ok = { name: "job", cron: "0 * * * *" };
    for (const [schedules, message] of [
      [[{ ...ok, cron: "0 0 * *" }], /^schedules\.0\.cron: /],
      [[ok, { ...ok, name: "fast", cron: "*/30 * * * * *" }], /^schedules\.1\.cron: runs as often as every 30 s; this platform allows at most one run every 60 s$/],
      [[{ ...ok, timezone: "Atlantis/Capital" }], /^schedules\.0\.timezone: not an IANA time zone/],
      [[{ ...ok, body: "x".repeat(64 * 1024 + 1) }], /^schedules\.0\.body: at most 65536 bytes$/],
      [[{ ...ok, headers: { "X-Isle-Attempt": "1" } }], /^schedules\.0\.headers\.X-Isle-Attempt: x-isle-\* headers are set by the platform$/],
      [[{ ...ok, every: "5m" }], /^schedules\.0: unknown field every$/],
      [[ok, ok], /^schedules\.1\.name: the name job is used twice$/],
      [Array.from({ length: 11 }, (_, i) => ({ ...ok, name: `s${i}` })), /^schedules: at most 10 schedules per function$/],
    ] as const) {
      const res = await put(schedules as unknown[]);
      expect(res.status, JSON.stringify(schedules).slice(0, 100)).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(message) });
    }
    const missing = await gw.operator(url, { method: "PUT", json: {} });
    expect(await errorOf(missing)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(/^schedules: /) });
    expect((await list()).map((s) => s.name)).toEqual(["kept"]);
  });

  it("answers 404 for a missing function, and the schedules go with their function", async () => {
    expect((await put([], "/v1/tenants/acme/functions/nope/schedules")).status).toBe(404);
    expect((await gw.operator("/v1/tenants/acme/functions/nope/schedules")).status).toBe(404);
    expect((await put([{ name: "job", cron: "0 * * * *" }], "/v1/tenants/acme/functions/other/schedules")).status).toBe(200);
    expect((await gw.operator("/v1/tenants/acme/functions/other", { method: "DELETE" })).status).toBe(204);
    expect((await gw.operator("/v1/tenants/acme/functions/other", { method: "PUT", json: {} })).status).toBe(200);
    const res = await gw.operator("/v1/tenants/acme/functions/other/schedules");
    expect(await res.json()).toEqual({ schedules: [] });
  });

  it("lets read keys list and deploy keys replace; a function's key only its own function's", async () => {
    const reader = await gw.createKey("acme", { name: "r", scopes: ["read"] });
    const deployer = await gw.createKey("acme", { name: "d", scopes: ["deploy"] });
    const onlyOther = await gw.createKey("acme", { name: "o", scopes: ["read", "deploy"], functionName: "other" });
    const body = { method: "PUT", json: { schedules: [{ name: "job", cron: "0 * * * *" }] } };
    expect((await gw.request(url, {}, reader.key)).status).toBe(200);
    expect(await errorOf(await gw.request(url, body, reader.key))).toMatchObject({ code: "forbidden" });
    expect((await gw.request(url, body, deployer.key)).status).toBe(200);
    expect((await gw.request(url, {}, deployer.key)).status).toBe(403);
    expect((await gw.request(url, {}, onlyOther.key)).status).toBe(404);
    expect((await gw.request(url, body, onlyOther.key)).status).toBe(404);
    expect((await gw.request("/v1/tenants/acme/functions/other/schedules", body, onlyOther.key)).status).toBe(200);
  });
});
