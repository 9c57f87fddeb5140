import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findApiKeyById } from "@isle/db";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("tenant routes (operator)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("creates a tenant as { id, name }, lists and gets it", async () => {
    const res = await gw.operator("/v1/tenants", { method: "POST", json: { name: "acme" } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(created).sort()).toEqual(["id", "name"]);
    expect(created).toMatchObject({ name: "acme", id: expect.stringMatching(/^ten_/) });
    const list = (await (await gw.operator("/v1/tenants")).json()) as { tenants: Array<{ name: string }> };
    expect(list.tenants.map((t) => t.name)).toContain("acme");
    const one = await gw.operator("/v1/tenants/acme");
    expect(await one.json()).toMatchObject({ id: created.id, name: "acme", quotas: {} });
  });

  it("answers bad bodies in the error shape, naming the field", async () => {
    const cases: Array<[RequestInit & { json?: unknown }, number, string, RegExp?]> = [
      [{ method: "POST", json: { name: "Not_A_Label" } }, 400, "validation_failed", /name: must be a DNS label/],
      [{ method: "POST", json: { name: "ok", extra: 1 } }, 400, "validation_failed", /unknown field extra/],
      [{ method: "POST", json: {} }, 400, "validation_failed", /name/],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }, 400, "bad_request"],
      [{ method: "POST", body: "{not json" }, 400, "bad_request"],
      [{ method: "POST", json: { name: "x".repeat(70 * 1024) } }, 413, "payload_too_large"],
    ];
    for (const [init, status, code, message] of cases) {
      const res = await gw.operator("/v1/tenants", init);
      expect(res.status).toBe(status);
      const error = await errorOf(res);
      expect(error.code).toBe(code);
      expect(error.requestId).toMatch(/^req_/);
      if (message) expect(error.message).toMatch(message);
    }
  });

  it("checks credentials before the body: an anonymous oversized request is a plain 401", async () => {
    const res = await gw.request("/v1/tenants", { method: "POST", json: { name: "x".repeat(70 * 1024) } });
    expect(res.status).toBe(401);
  });

  it("answers conflict for a taken name", async () => {
    await gw.createTenant("taken");
    const res = await gw.operator("/v1/tenants", { method: "POST", json: { name: "taken" } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("conflict");
  });

  it("updates quotas, and a quota on functions is enforced", async () => {
    await gw.createTenant("quota");
    const res = await gw.operator("/v1/tenants/quota", { method: "PATCH", json: { quotas: { maxFunctions: 1, maxReplicas: 3 } } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { quotas: unknown }).quotas).toEqual({ maxFunctions: 1, maxReplicas: 3 });
    expect((await gw.operator("/v1/tenants/quota/functions/one", { method: "PUT", json: {} })).status).toBe(200);
    expect((await gw.operator("/v1/tenants/quota/functions/one", { method: "PUT", json: { visibility: "public" } })).status).toBe(200);
    const over = await gw.operator("/v1/tenants/quota/functions/two", { method: "PUT", json: {} });
    expect(over.status).toBe(409);
    expect((await errorOf(over)).message).toMatch(/quota of 1 functions/);
    const bad = await gw.operator("/v1/tenants/quota", { method: "PATCH", json: { quotas: { maxFunctions: -1 } } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^quotas\.maxFunctions/);
  });

  it("sets a tenant's record retention in hours (0: for ever), puts it back to the platform's with null, and names the field when it is wrong", async () => {
    await gw.createTenant("kept");
    const quotasOf = async (res: Response) => {
      expect(res.status).toBe(200);
      return ((await res.json()) as { quotas: unknown }).quotas;
    };
    const patch = (quotas: unknown) => gw.operator("/v1/tenants/kept", { method: "PATCH", json: { quotas } });
    expect(await quotasOf(await patch({ recordRetentionHours: 720 }))).toEqual({ recordRetentionHours: 720 });
    expect(await quotasOf(await gw.operator("/v1/tenants/kept"))).toEqual({ recordRetentionHours: 720 });
    expect(await quotasOf(await patch({ recordRetentionHours: 0 }))).toEqual({ recordRetentionHours: 0 });
    for (const bad of [-1, 1.5, 87_601, "7d"]) {
      const res = await patch({ recordRetentionHours: bad });
      expect(res.status, String(bad)).toBe(400);
      expect((await errorOf(res)).message).toMatch(/^quotas\.recordRetentionHours/);
    }
    expect(await quotasOf(await patch({ recordRetentionHours: null }))).toEqual({});
  });

  it("deletes a tenant with its keys and functions, then 404s like any missing tenant", async () => {
    await gw.createTenant("doomed");
    const key = await gw.createKey("doomed", { name: "k", scopes: ["admin"] });
    expect((await gw.operator("/v1/tenants/doomed/functions/api", { method: "PUT", json: {} })).status).toBe(200);
    expect((await gw.operator("/v1/tenants/doomed", { method: "DELETE" })).status).toBe(204);
    expect(await findApiKeyById(gw.database.db, key.id)).toBeUndefined();
    for (const path of ["/v1/tenants/doomed", "/v1/tenants/never-was", "/v1/tenants/doomed/functions/api"]) {
      const res = await gw.operator(path);
      expect(res.status, path).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
    }
    expect((await gw.request("/v1/tenants/doomed/functions", {}, key.key)).status).toBe(401);
  });

  it("is the operator's alone: a tenant's admin key cannot list, create or delete tenants", async () => {
    await gw.createTenant("keyholder");
    const { key } = await gw.createKey("keyholder", { name: "admin", scopes: ["admin"] });
    for (const [path, init] of [
      ["/v1/tenants", {}],
      ["/v1/tenants", { method: "POST", json: { name: "sneaky" } }],
      ["/v1/tenants/keyholder", {}],
      ["/v1/tenants/keyholder", { method: "PATCH", json: { quotas: { maxFunctions: 999 } } }],
      ["/v1/tenants/keyholder", { method: "PATCH", json: { quotas: { recordRetentionHours: 0 } } }],
      ["/v1/tenants/keyholder", { method: "DELETE" }],
    ] as const) {
      const res = await gw.request(path, init as RequestInit & { json?: unknown }, key);
      expect(res.status, `${JSON.stringify(init)} ${path}`).toBe(401);
    }
    expect((await gw.operator("/v1/tenants/keyholder")).status).toBe(200);
  });
});
