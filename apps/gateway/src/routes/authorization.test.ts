import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocations, newId } from "@isle/db";
import { errorOf, startTestGateway, type TestGateway } from "../test-support/test-gateway.js";

/**
 * The one test every /v1 route must pass, found by walking the OpenAPI document and the
 * app's own route table: a route added tomorrow is checked without anyone listing it here.
 */
describe("authorisation of every /v1 route", () => {
  let gw: TestGateway;
  let routes: Array<{ method: string; path: string }>;
  let documentedKeys: Set<string>;
  const ids: Record<string, string> = {};
  let victimAdmin: string;
  let attackerAdmin: string;
  let revoked: string;
  let expiring: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const victim = await gw.createTenant("victim");
    await gw.createTenant("attacker");
    victimAdmin = (await gw.createKey("victim", { name: "admin", scopes: ["admin"] })).key;
    attackerAdmin = (await gw.createKey("attacker", { name: "admin", scopes: ["admin"] })).key;
    const victimKey = await gw.createKey("victim", { name: "ci", scopes: ["deploy"] });
    ids.key = victimKey.id;
    const gone = await gw.createKey("victim", { name: "gone", scopes: ["admin"] });
    revoked = gone.key;
    expect((await gw.operator(`/v1/tenants/victim/keys/${gone.id}`, { method: "DELETE" })).status).toBe(204);
    expiring = (await gw.createKey("victim", { name: "soon", scopes: ["admin"], expiresAt: new Date(Date.now() + 300).toISOString() })).key;
    for (const tenant of ["victim", "attacker"]) {
      const res = await gw.deploy(tenant, "fn", { "index.js": "export default { fetch: () => new Response('victim-data') }" });
      expect(res.status).toBe(201);
      if (tenant === "victim") ids.deployment = ((await res.json()) as { id: string }).id;
    }
    expect((await gw.operator("/v1/tenants/victim/functions/fn/secrets/SECRET", { method: "PUT", body: "victim-secret-value" })).status).toBe(200);
    const victimFn = (await (await gw.operator("/v1/tenants/victim/functions/fn")).json()) as { id: string };
    ids.invocation = "inv_victimrecord";
    await gw.database.db.insert(invocations).values({
      id: ids.invocation,
      tenantId: victim.id,
      functionId: victimFn.id,
      mode: "sync",
      status: "ok",
      startedAt: new Date(),
    });

    const doc = (await (await gw.request("/v1/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, ":$1") })),
    );
    // Routes registered on the app but missing from the document are walked too.
    const registered = gw.app.routes
      .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL" && r.path !== "/v1/openapi.json")
      .map((r) => ({ method: r.method, path: r.path }));
    const seen = new Set<string>();
    routes = [...documented, ...registered].filter((r) => {
      const key = `${r.method} ${r.path}`;
      return !seen.has(key) && seen.add(key);
    });
    documentedKeys = new Set(documented.map((r) => `${r.method} ${r.path}`));
    await new Promise((r) => setTimeout(r, 350)); // let the short-lived key expire
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const fill = (path: string, tenant: string) =>
    path
      .replace(":tenant", tenant)
      .replace(":function", "fn")
      .replace(":name", "SECRET")
      .replace(":id", path.includes("/keys/") ? ids.key! : path.includes("/invocations/") ? ids.invocation! : ids.deployment!);
  const send = (method: string, path: string, credential: string | undefined, headers: Record<string, string> = {}) =>
    gw.request(
      path,
      {
        method,
        headers: { ...headers, ...(method === "GET" || method === "DELETE" ? {} : { "content-type": "application/json" }) },
        ...(method === "GET" || method === "DELETE" ? {} : { body: JSON.stringify({ name: "x", scopes: ["admin"], deploymentId: ids.deployment, percent: 5 }) }),
      },
      credential,
    );

  it("documents every /v1 route the app serves", () => {
    expect(documentedKeys.size).toBeGreaterThanOrEqual(23);
    expect(routes.filter((r) => !documentedKeys.has(`${r.method} ${r.path}`))).toEqual([]);
  });

  it("refuses missing, garbage, revoked and expired credentials with one and the same 401", async () => {
    const garbage = `isk_${newId("key")}_${"0".repeat(48)}`;
    for (const { method, path } of routes) {
      const url = fill(path, "victim");
      const bodies: string[] = [];
      for (const credential of [undefined, "garbage", garbage, revoked, expiring, `${victimAdmin}x`]) {
        const res = await send(method, url, credential);
        expect(res.status, `${method} ${url} with ${credential === undefined ? "nothing" : "a bad credential"}`).toBe(401);
        const { code, message } = await errorOf(res);
        bodies.push(JSON.stringify({ code, message }));
      }
      const viaHeader = await send(method, url, undefined, { "x-api-key": garbage });
      expect(viaHeader.status).toBe(401);
      const { code, message } = await errorOf(viaHeader);
      bodies.push(JSON.stringify({ code, message }));
      expect(new Set(bodies).size, `${method} ${url}`).toBe(1);
    }
  });

  it("never lets another tenant's admin key act on or see this tenant's resources", async () => {
    for (const { method, path } of routes) {
      // By the victim's name in the path, and by the victim's ids under the attacker's own name.
      for (const url of [fill(path, "victim"), ...(path.includes(":id") ? [fill(path, "attacker")] : [])]) {
        const res = await send(method, url, attackerAdmin);
        const text = await res.text();
        if (!path.includes(":tenant") && res.status === 200) {
          // A route outside every tenant that a key may call (whoami) speaks of the caller alone.
          expect(JSON.parse(text), `${method} ${url}`).toMatchObject({ tenant: "attacker" });
        } else expect([401, 403, 404], `${method} ${url}: ${res.status} ${text}`).toContain(res.status);
        for (const secret of Object.values(ids)) expect(text).not.toContain(secret);
        expect(text).not.toContain("victim-secret-value");
      }
    }
  });

  it("leaves the victim's data untouched after the attempts", async () => {
    const fns = await gw.request("/v1/tenants/victim/functions", {}, victimAdmin);
    expect(fns.status).toBe(200);
    const body = (await fns.json()) as { functions: Array<{ name: string; activeDeploymentId: string }> };
    expect(body.functions).toEqual([expect.objectContaining({ name: "fn", activeDeploymentId: ids.deployment })]);
    const keys = (await (await gw.request("/v1/tenants/victim/keys", {}, victimAdmin)).json()) as { keys: Array<{ id: string; revokedAt: string | null }> };
    expect(keys.keys.find((k) => k.id === ids.key)?.revokedAt).toBeNull();
    const secrets = (await (await gw.request("/v1/tenants/victim/functions/fn/secrets", {}, victimAdmin)).json()) as { secrets: Array<{ name: string }> };
    expect(secrets.secrets.map((s) => s.name)).toEqual(["SECRET"]);
  });
});
