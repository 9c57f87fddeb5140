import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, operatorToken, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("API key routes", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.createTenant("acme");
    await gw.createTenant("other");
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("shows the secret once; lists never show secrets or hashes", async () => {
    const created = await gw.createKey("acme", { name: "ci", scopes: ["deploy", "read"], functionName: "api" });
    expect(created.key).toMatch(new RegExp(`^isk_${created.id}_[0-9a-f]{48}$`));
    const res = await gw.operator("/v1/tenants/acme/keys");
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(created.key.split("_").at(-1));
    expect(text).not.toMatch(/secret|hash/i);
    const { keys } = JSON.parse(text) as { keys: Array<Record<string, unknown>> };
    expect(keys.find((k) => k.id === created.id)).toMatchObject({ name: "ci", scopes: ["deploy", "read"], functionName: "api", revokedAt: null });
    const otherKeys = (await (await gw.operator("/v1/tenants/other/keys")).json()) as { keys: unknown[] };
    expect(otherKeys.keys).toEqual([]);
  });

  it("validates key requests", async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    for (const [body, message] of [
      [{ name: "k", scopes: ["root"] }, /^scopes\.0/],
      [{ name: "k", scopes: [] }, /^scopes/],
      [{ name: "k", scopes: ["read"], expiresAt: past }, /expiresAt: must be in the future/],
      [{ name: "k", scopes: ["read"], expiresAt: "tomorrow" }, /^expiresAt/],
      [{ name: "k", scopes: ["read"], functionName: "Bad_Name" }, /^functionName/],
      [{ name: "k", scopes: ["read"], admin: true }, /unknown field admin/],
    ] as const) {
      const res = await gw.operator("/v1/tenants/acme/keys", { method: "POST", json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(message) });
    }
  });

  it("lets admin keys manage keys, refuses the others with 403", async () => {
    const admin = await gw.createKey("acme", { name: "admin", scopes: ["admin"] });
    const reader = await gw.createKey("acme", { name: "reader", scopes: ["read", "deploy", "invoke"] });
    const restrictedAdmin = await gw.createKey("acme", { name: "fn-admin", scopes: ["admin"], functionName: "api" });
    const minted = await gw.request("/v1/tenants/acme/keys", { method: "POST", json: { name: "by-admin", scopes: ["invoke"] } }, admin.key);
    expect(minted.status).toBe(201);
    for (const credential of [reader.key, restrictedAdmin.key]) {
      for (const [path, init] of [
        ["/v1/tenants/acme/keys", {}],
        ["/v1/tenants/acme/keys", { method: "POST", json: { name: "x", scopes: ["admin"] } }],
        [`/v1/tenants/acme/keys/${admin.id}`, { method: "DELETE" }],
      ] as const) {
        const res = await gw.request(path, init as RequestInit & { json?: unknown }, credential);
        expect(res.status).toBe(403);
        expect((await errorOf(res)).code).toBe("forbidden");
      }
    }
  });

  it("revokes at once on this gateway, with the same 401 as any bad key", async () => {
    const key = await gw.createKey("acme", { name: "short-lived", scopes: ["read"] });
    expect((await gw.request("/v1/tenants/acme/functions", {}, key.key)).status).toBe(200);
    expect((await gw.operator(`/v1/tenants/acme/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    const refused = await gw.request("/v1/tenants/acme/functions", {}, key.key);
    expect(refused.status).toBe(401);
    const garbage = await gw.request("/v1/tenants/acme/functions", {}, "nonsense");
    const [a, b] = [await errorOf(refused), await errorOf(garbage)];
    expect({ ...a, requestId: "" }).toEqual({ ...b, requestId: "" });
    const listed = (await (await gw.operator("/v1/tenants/acme/keys")).json()) as { keys: Array<{ id: string; revokedAt: string | null }> };
    expect(listed.keys.find((k) => k.id === key.id)?.revokedAt).toEqual(expect.any(String));
  });

  it("answers 404 for another tenant's key id, as for a missing one, and leaves it working", async () => {
    const foreign = await gw.createKey("other", { name: "theirs", scopes: ["read"] });
    for (const id of [foreign.id, "key_doesnotexistatall0"]) {
      const res = await gw.operator(`/v1/tenants/acme/keys/${id}`, { method: "DELETE" });
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: "not_found", message: "key not found" });
    }
    expect((await gw.request("/v1/tenants/other/functions", {}, foreign.key)).status).toBe(200);
  });

  it("accepts keys in x-api-key too, and the operator token only as Bearer", async () => {
    const key = await gw.createKey("acme", { name: "header", scopes: ["read"] });
    expect((await gw.request("/v1/tenants/acme/functions", { headers: { "x-api-key": key.key } })).status).toBe(200);
    expect((await gw.request("/v1/tenants", { headers: { authorization: `Basic ${operatorToken}` } })).status).toBe(401);
  });
});
