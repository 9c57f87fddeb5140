import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocations } from "@isle/db";
import { errorOf, operatorToken, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("invocation routes", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    const acme = await gw.createTenant("acme");
    const other = await gw.createTenant("other");
    const fnId = async (tenant: string, name: string) =>
      ((await (await gw.operator(`/v1/tenants/${tenant}/functions/${name}`, { method: "PUT", json: {} })).json()) as { id: string }).id;
    const [api, cron, theirs] = [await fnId("acme", "api"), await fnId("acme", "cron"), await fnId("other", "api")];
    const base = Date.parse("2026-11-01T00:00:00Z");
    await gw.database.db.insert(invocations).values([
      ...Array.from({ length: 5 }, (_, i) => ({
        id: `inv_api${i}`,
        tenantId: acme.id,
        functionId: api,
        mode: "sync" as const,
        status: i === 2 ? "error" : "ok",
        errorCode: i === 2 ? "function_error" : null,
        traceId: i === 2 ? "4bf92f3577b34da6a3ce929d0e0e4736" : null,
        startedAt: new Date(base + i * 1000),
        logs: [{ at: new Date(base).toISOString(), level: "info", message: `line ${i}` }],
      })),
      {
        id: "inv_cron0",
        tenantId: acme.id,
        functionId: cron,
        mode: "async",
        status: "ok",
        startedAt: new Date(base + 10_000),
        callback: { origin: "https://hooks.example", attempt: 1, delivered: false, status: 503, tries: 4, error: "the receiver answered 503", at: new Date(base + 11_000).toISOString() },
      },
      { id: "inv_theirs", tenantId: other.id, functionId: theirs, mode: "sync", status: "ok", startedAt: new Date(base + 20_000) },
    ]);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  type Page = { invocations: Array<{ id: string; status: string }>; nextCursor: string | null };
  const page = async (query: string, credential?: string) => {
    const res = await gw.request(`/v1/tenants/acme/invocations${query}`, {}, credential ?? operatorToken);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Page;
  };

  it("pages newest first with an opaque cursor, within the tenant", async () => {
    const ids: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const p: Page = await page(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      ids.push(...p.invocations.map((i) => i.id));
      cursor = p.nextCursor;
    }
    expect(ids).toEqual(["inv_cron0", "inv_api4", "inv_api3", "inv_api2", "inv_api1", "inv_api0"]);
  });

  it("filters by function and status", async () => {
    expect((await page("?function=cron")).invocations.map((i) => i.id)).toEqual(["inv_cron0"]);
    expect((await page("?function=api&status=error")).invocations).toMatchObject([{ id: "inv_api2", traceId: "4bf92f3577b34da6a3ce929d0e0e4736" }]);
    expect((await page("?function=cron")).invocations).toMatchObject([{ id: "inv_cron0", traceId: null }]);
    expect((await page("?function=missing")).invocations).toEqual([]);
  });

  it("gets one record with its logs; another tenant's is a 404 like a missing one", async () => {
    const res = await gw.operator("/v1/tenants/acme/invocations/inv_api2");
    expect(await res.json()).toMatchObject({
      id: "inv_api2",
      status: "error",
      errorCode: "function_error",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      logs: [{ message: "line 2" }],
    });
    for (const id of ["inv_theirs", "inv_nothing"]) {
      const missing = await gw.operator(`/v1/tenants/acme/invocations/${id}`);
      expect(await errorOf(missing)).toMatchObject({ code: "not_found", message: "invocation not found" });
    }
  });

  it("gets an async record with its callback's outcome (null without one), which the list leaves out", async () => {
    expect(await (await gw.operator("/v1/tenants/acme/invocations/inv_cron0")).json()).toMatchObject({
      id: "inv_cron0",
      callback: { origin: "https://hooks.example", attempt: 1, delivered: false, status: 503, tries: 4, error: "the receiver answered 503", at: "2026-11-01T00:00:11.000Z" },
    });
    expect(await (await gw.operator("/v1/tenants/acme/invocations/inv_api1")).json()).toMatchObject({ id: "inv_api1", callback: null });
    expect((await page("?function=cron")).invocations[0]).not.toHaveProperty("callback");
  });

  it("refuses bad queries naming the parameter", async () => {
    for (const [query, message] of [
      ["?limit=0", /^limit/],
      ["?cursor=bm9wZQ", /^cursor/],
      ["?function=Bad_Name", /^function/],
      ["?color=red", /unknown field color/],
    ] as const) {
      const res = await gw.operator(`/v1/tenants/acme/invocations${query}`);
      expect(res.status, query).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(message) });
    }
  });

  it("shows a function-restricted key only its function's records", async () => {
    const { key } = await gw.createKey("acme", { name: "cron-only", scopes: ["read"], functionName: "cron" });
    expect((await page("", key)).invocations.map((i) => i.id)).toEqual(["inv_cron0"]);
    expect((await page("?function=api", key)).invocations).toEqual([]);
    expect((await gw.request("/v1/tenants/acme/invocations/inv_api1", {}, key)).status).toBe(404);
    expect((await gw.request("/v1/tenants/acme/invocations/inv_cron0", {}, key)).status).toBe(200);
  });
});
