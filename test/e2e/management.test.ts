import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { freePort } from "../harness/ports.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

/** A .tar.gz of a fixture function's directory, made by the real tar command. */
function tarGzOf(files: Record<string, string>): Uint8Array<ArrayBuffer> {
  const dir = mkdtempSync(join(tmpdir(), "isle-e2e-tar-"));
  try {
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    return new Uint8Array(execFileSync("tar", ["-czf", "-", "-C", dir, "."]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The management API through real processes: keys minted, used, revoked; tar.gz deploys.
describe(`management API (${process.env.DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let stack: Stack;
  const secretValue = "e2e-secret-value-9d8c7b";
  let deployKey = "";

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    await stack.createTenant("acme");
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const withKey = (key: string, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${key}`);
    return fetch(`${stack.baseUrl}${path}`, { ...init, headers });
  };

  it("mints a deploy key, deploys with it, revokes it, and refuses it within a second", async () => {
    const created = await stack.operator("/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", scopes: ["deploy", "read", "invoke"] }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    deployKey = key;

    const form = new FormData();
    for (const [path, text] of Object.entries(fixture("hello"))) form.append("file", new Blob([text]), path);
    const deployed = await withKey(key, "/v1/tenants/acme/functions/hello/deployments", { method: "POST", body: form });
    expect(deployed.status, await deployed.clone().text()).toBe(201);
    // Functions are private by default: the key invokes, no key does not.
    expect((await fetch(`${stack.baseUrl}/fn/acme/hello`)).status).toBe(401);
    expect((await withKey(key, "/fn/acme/hello")).status).toBe(200);
    expect((await withKey(key, "/v1/tenants/acme/functions/hello/deployments")).status).toBe(200);

    // Deploy scope is not admin: it cannot mint keys.
    const escalate = await withKey(key, "/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x", scopes: ["admin"] }),
    });
    expect(escalate.status).toBe(403);

    const revokedAt = Date.now();
    expect((await stack.operator(`/v1/tenants/acme/keys/${id}`, { method: "DELETE" })).status).toBe(204);
    let refused: Response | undefined;
    while (Date.now() - revokedAt < 1000) {
      const res = await withKey(key, "/v1/tenants/acme/functions/hello/deployments");
      if (res.status === 401) {
        refused = res;
        break;
      }
    }
    expect(refused?.status).toBe(401);
    expect((await withKey(key, "/fn/acme/hello")).status).toBe(401);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("deploys a tar.gz of the function's directory and serves it", async () => {
    const archive = tarGzOf({ "index.ts": "export default { fetch: () => new Response('from a tarball') };" });
    const res = await stack.operator("/v1/tenants/acme/functions/tarred/deployments?message=tar", {
      method: "POST",
      headers: { "content-type": "application/gzip" },
      body: archive,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toMatchObject({ version: 1, status: "ready" });
    await stack.configure("acme", "tarred", { visibility: "public" });
    expect(await (await fetch(`${stack.baseUrl}/fn/acme/tarred`)).text()).toBe("from a tarball");
    const list = (await (await stack.operator("/v1/tenants/acme/functions/tarred/deployments")).json()) as {
      deployments: Array<{ message: string; active: boolean; entry: string }>;
    };
    expect(list.deployments).toEqual([expect.objectContaining({ message: "tar", active: true, entry: "index.ts" })]);
  });

  it("counts a function's invocations in its stats and the tenant's, and records the client's trace id with tracing off", async () => {
    await stack.deployPublic("acme", "counted", fixture("hello"));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${stack.baseUrl}/fn/acme/counted`, i === 0 ? { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } } : {});
      expect(res.status).toBe(200);
      ids.push(res.headers.get("x-isle-invocation-id") ?? "");
    }
    type Stats = { bucketSeconds: number; totals: { requests: number; errors: number; p50Ms: number | null }; buckets: Array<{ requests: number }> };
    let stats: Stats | undefined;
    // Records are written in batches off the request path (ADR 0007).
    await waitUntil(
      async () => {
        const res = await stack.operator("/v1/tenants/acme/functions/counted/stats?hours=1&buckets=6");
        expect(res.status).toBe(200);
        stats = (await res.json()) as Stats;
        return stats.totals.requests >= 3;
      },
      10_000,
      "three records in the function's stats",
    );
    expect(stats).toMatchObject({ bucketSeconds: 600, totals: { requests: 3, errors: 0, p50Ms: expect.any(Number) } });
    expect(stats!.buckets).toHaveLength(6);
    expect(stats!.buckets.reduce((sum, b) => sum + b.requests, 0)).toBe(3);
    const tenant = (await (await stack.operator("/v1/tenants/acme/stats")).json()) as { functions: Array<{ name: string; requests: number }> };
    expect(tenant.functions).toContainEqual({ name: "counted", requests: 3, errors: 0 });
    const traced = (await (await stack.operator(`/v1/tenants/acme/invocations/${ids[0]}`)).json()) as { traceId: string | null };
    const untraced = (await (await stack.operator(`/v1/tenants/acme/invocations/${ids[1]}`)).json()) as { traceId: string | null };
    expect([traced.traceId, untraced.traceId]).toEqual([traceId, null]);
  });

  it("keeps secrets sealed with a key generated at first start, mode 0600", async () => {
    const put = await stack.operator("/v1/tenants/acme/functions/hello/secrets/API_TOKEN", { method: "PUT", body: secretValue });
    expect(put.status).toBe(200);
    expect(statSync(join(stack.dataDir, "secrets-key")).mode & 0o777).toBe(0o600);
    const list = await (await stack.operator("/v1/tenants/acme/functions/hello/secrets")).text();
    expect(list).toContain("API_TOKEN");
    expect(list).not.toContain(secretValue);
  });

  it("serves the OpenAPI document and the reference page without a network", async () => {
    expect(((await (await fetch(`${stack.baseUrl}/v1/openapi.json`)).json()) as { openapi: string }).openapi).toBe("3.1.0");
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toMatch(/https?:\/\//);
    expect((await fetch(`${stack.baseUrl}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it("never writes keys, tokens or secret values to the gateway's log", async () => {
    // Failures are what get logged: provoke a few with credentials attached.
    await withKey(deployKey, "/v1/tenants/acme/keys");
    await withKey(stack.adminToken, "/v1/tenants/acme/functions/hello/secrets/API_TOKEN", { method: "PUT", body: "" });
    await fetch(`${stack.baseUrl}/fn/acme/hello`, { headers: { authorization: `Bearer ${deployKey}`, "x-api-key": deployKey } });
    const logs = stack.logs.gateway.join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const value of [deployKey, deployKey.split("_").at(-1)!, stack.adminToken, secretValue]) {
      expect(logs).not.toContain(value);
    }
  });
});

// Two gateways on one Postgres: a key revoked on one is refused by the other within a second.
describe.skipIf(!process.env.DATABASE_URL)("key revocation across gateways (postgres)", () => {
  let stack: Stack;
  let second: ChildProcess | undefined;
  let secondUrl = "";
  let secondDir = "";

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    await stack.createTenant("acme");
    // The stack's scratch database, as its gateway was started with it.
    const environ = readFileSync(`/proc/${stack.pid("gateway")}/environ`, "latin1").split("\0");
    const databaseUrl = environ.find((e) => e.startsWith("DATABASE_URL="))!.slice("DATABASE_URL=".length);
    secondDir = mkdtempSync(join(tmpdir(), "isle-e2e-gw2-"));
    const port = await freePort();
    secondUrl = `http://127.0.0.1:${port}`;
    second = spawn(process.execPath, [resolve(import.meta.dirname, "../../apps/gateway/dist/main.js")], {
      env: { ...process.env, DATABASE_URL: databaseUrl, ISLE_DATA_DIR: secondDir, ISLE_PORT: String(port), ISLE_CONTROL_PORT: String(await freePort()) },
      stdio: "ignore",
    });
    await waitUntil(() => fetch(`${secondUrl}/healthz`).then((r) => r.ok, () => false), 30_000, "the second gateway");
  });
  afterAll(async () => {
    second?.kill("SIGTERM");
    await stack?.stop();
    if (secondDir) rmSync(secondDir, { recursive: true, force: true });
  });

  it("refuses the revoked key on the other gateway within one second", async () => {
    const created = await stack.operator("/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "roaming", scopes: ["read"] }),
    });
    const { id, key } = (await created.json()) as { id: string; key: string };
    const onSecond = () => fetch(`${secondUrl}/v1/tenants/acme/functions`, { headers: { authorization: `Bearer ${key}` } });
    expect((await onSecond()).status).toBe(200);
    const revokedAt = Date.now();
    expect((await stack.operator(`/v1/tenants/acme/keys/${id}`, { method: "DELETE" })).status).toBe(204);
    let status = 200;
    while (status !== 401 && Date.now() - revokedAt < 1000) {
      status = (await onSecond()).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });
});
