import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, startTestGateway, type TestGateway } from "../../test-support/test-gateway.js";

describe("function routes", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.createTenant("acme");
    await gw.createTenant("other");
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("creates a private function by default, updates only what is given, gets and lists it", async () => {
    const created = await gw.operator("/v1/tenants/acme/functions/api", { method: "PUT", json: { env: { A: "1" } } });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ name: "api", runtime: "workerd", visibility: "private", env: { A: "1" }, traffic: null, activeDeploymentId: null });
    const updated = await gw.operator("/v1/tenants/acme/functions/api", { method: "PUT", json: { visibility: "public", limits: { timeoutMs: 5000 } } });
    expect(await updated.json()).toMatchObject({ visibility: "public", env: { A: "1" }, limits: { timeoutMs: 5000 } });
    expect((await gw.operator("/v1/tenants/acme/functions/bare", { method: "PUT" })).status).toBe(200);
    expect(await (await gw.operator("/v1/tenants/acme/functions/api")).json()).toMatchObject({ name: "api", visibility: "public" });
    const list = (await (await gw.operator("/v1/tenants/acme/functions")).json()) as { functions: Array<{ name: string }> };
    expect(list.functions.map((f) => f.name)).toEqual(["api", "bare"]);
  });

  it("stores body caps and a concurrency limit", async () => {
    const limits = { maxRequestBytes: 1024, maxResponseBytes: 0, concurrency: 10_000 };
    const res = await gw.operator("/v1/tenants/acme/functions/capped", { method: "PUT", json: { limits } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ limits });
    expect(await (await gw.operator("/v1/tenants/acme/functions/capped")).json()).toMatchObject({ limits });
  });

  it("refuses bad settings and names, naming the field", async () => {
    for (const [path, body, message] of [
      ["/v1/tenants/acme/functions/api", { runtime: "python" }, /^runtime/],
      ["/v1/tenants/acme/functions/api", { limits: { timeoutMs: 1 } }, /^limits\.timeoutMs/],
      ["/v1/tenants/acme/functions/api", { limits: { nope: 1 } }, /^limits: unknown field nope/],
      ["/v1/tenants/acme/functions/api", { limits: { concurrency: 0 } }, /^limits\.concurrency/],
      ["/v1/tenants/acme/functions/api", { limits: { concurrency: 10_001 } }, /^limits\.concurrency/],
      ["/v1/tenants/acme/functions/api", { limits: { concurrency: 1.5 } }, /^limits\.concurrency/],
      ["/v1/tenants/acme/functions/api", { limits: { maxRequestBytes: 0 } }, /^limits\.maxRequestBytes/],
      ["/v1/tenants/acme/functions/api", { limits: { maxRequestBytes: 2 * 1024 ** 3 } }, /^limits\.maxRequestBytes/],
      ["/v1/tenants/acme/functions/api", { limits: { maxResponseBytes: -1 } }, /^limits\.maxResponseBytes/],
      ["/v1/tenants/acme/functions/api", { env: { "1BAD": "x" } }, /^env/],
      ["/v1/tenants/acme/functions/Bad_Name", {}, /^function: must be a DNS label/],
      ["/v1/tenants/Bad_Tenant/functions/api", {}, /^tenant: must be a DNS label/],
    ] as const) {
      const res = await gw.operator(path, { method: "PUT", json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "validation_failed", message: expect.stringMatching(message) });
    }
  });

  it("deletes a function, then answers 404 like for a missing or another tenant's one", async () => {
    await gw.operator("/v1/tenants/other/functions/theirs", { method: "PUT", json: {} });
    await gw.operator("/v1/tenants/acme/functions/gone", { method: "PUT", json: {} });
    expect((await gw.operator("/v1/tenants/acme/functions/gone", { method: "DELETE" })).status).toBe(204);
    const bodies = [];
    for (const name of ["gone", "never", "theirs"]) {
      for (const method of ["GET", "DELETE"]) {
        const res = await gw.operator(`/v1/tenants/acme/functions/${name}`, { method });
        expect(res.status).toBe(404);
        const { code, message } = await errorOf(res);
        bodies.push(`${code} ${message}`);
      }
    }
    expect(new Set(bodies)).toEqual(new Set(["not_found function not found"]));
    expect((await gw.operator("/v1/tenants/other/functions/theirs")).status).toBe(200);
  });

  it("gives read keys reads, deploy keys writes, and function keys only their function", async () => {
    const reader = await gw.createKey("acme", { name: "r", scopes: ["read"] });
    const invoker = await gw.createKey("acme", { name: "i", scopes: ["invoke"] });
    const deployer = await gw.createKey("acme", { name: "d", scopes: ["deploy"] });
    const onlyApi = await gw.createKey("acme", { name: "api-only", scopes: ["read", "deploy"], functionName: "api" });
    expect((await gw.request("/v1/tenants/acme/functions/api", {}, reader.key)).status).toBe(200);
    const write = { method: "PUT", json: { visibility: "private" } };
    expect(await errorOf(await gw.request("/v1/tenants/acme/functions/api", write, reader.key))).toMatchObject({ code: "forbidden" });
    expect((await gw.request("/v1/tenants/acme/functions/api", {}, invoker.key)).status).toBe(403);
    expect((await gw.request("/v1/tenants/acme/functions/api", write, deployer.key)).status).toBe(200);
    // A deploy key without read cannot read.
    expect((await gw.request("/v1/tenants/acme/functions/api", {}, deployer.key)).status).toBe(403);

    expect((await gw.request("/v1/tenants/acme/functions/api", write, onlyApi.key)).status).toBe(200);
    const hidden = await gw.request("/v1/tenants/acme/functions/bare", {}, onlyApi.key);
    expect(hidden.status).toBe(404);
    expect((await errorOf(hidden)).message).toBe("function not found");
    expect((await gw.request("/v1/tenants/acme/functions/bare", write, onlyApi.key)).status).toBe(404);
    // Percent-encoding changes nothing: the check sees the path as the router does.
    expect((await gw.request("/v1/tenants/acme/functions/%62are", {}, onlyApi.key)).status).toBe(404);
    expect((await gw.request("/v1/tenants/%61cme/functions/%61pi", {}, onlyApi.key)).status).toBe(200);
    const listed = (await (await gw.request("/v1/tenants/acme/functions", {}, onlyApi.key)).json()) as { functions: Array<{ name: string }> };
    expect(listed.functions.map((f) => f.name)).toEqual(["api"]);
  });
});
