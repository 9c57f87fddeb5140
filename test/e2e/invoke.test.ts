import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { Stack } from "../harness/stack.js";

// The whole invoke path with real processes: gateway → sidecar → agent → workerd.
// Runs on PGlite, or on the Postgres server named by DATABASE_URL.
describe(`invoke path (${process.env.DATABASE_URL ? "postgres" : "pglite"})`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    await stack.createTenant("acme");
    await stack.createTenant("other");
    for (const name of ["hello", "throws"]) await stack.deployPublic("acme", name, fixture(name));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("stores its data where the run says", () => {
    const kind = process.env.DATABASE_URL ? "postgres" : "pglite";
    expect(stack.logs.gateway.join("\n")).toContain(`"database":"${kind}"`);
  });

  it("runs a function and tells it only what it should see", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/hello/some/path?x=1`, {
      headers: { authorization: "Bearer secret-token", "x-isle-invocation-id": "spoofed", "x-custom": "kept" },
    });
    expect(res.status).toBe(200);
    const invocationId = res.headers.get("x-isle-invocation-id");
    expect(invocationId).toMatch(/^inv_/);
    const body = (await res.json()) as { path: string; search: string; headers: Record<string, string> };
    expect(body.path).toBe("/some/path");
    expect(body.search).toBe("?x=1");
    expect(body.headers["x-custom"]).toBe("kept");
    expect(body.headers["x-isle-invocation-id"]).toBe(invocationId);
    expect(body.headers.authorization).toBeUndefined();
    // Only the platform's own x-isle-* headers reach the function.
    expect(Object.keys(body.headers).filter((h) => h.startsWith("x-isle-")).sort()).toEqual([
      "x-isle-client-ip",
      "x-isle-invocation-id",
    ]);
  });

  it("answers 404 in the error shape for an unknown tenant or function, alike", async () => {
    const urls = ["/fn/nobody/hello", "/fn/acme/missing", "/fn/other/hello", "/fn/ACME/hello", "/fn/acme/hello%2F..%2Fx"];
    for (const url of urls) {
      const res = await fetch(`${stack.baseUrl}${url}`);
      expect(res.status, url).toBe(404);
      const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe("not_found");
      expect(body.error.requestId).toBeTruthy();
      expect(body.error.message).toBe("function not found");
    }
  });

  it("answers 500 with an Isle error when the function throws, and keeps serving others", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/throws`);
    expect(res.status).toBe(500);
    expect(res.headers.get("x-isle-invocation-id")).toMatch(/^inv_/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("function_error");
    expect(body.error.message).not.toContain("boom");
    const again = await fetch(`${stack.baseUrl}/fn/acme/hello`);
    expect(again.status).toBe(200);
  });

  it("keeps serving the previous version when a deploy fails to build", async () => {
    const res = await stack.deploy("acme", "hello", { "index.ts": "export default {\n  fetch() { return new Response( }\n};" });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("build_failed");
    expect(body.error.message).toMatch(/^index\.ts:2:\d+: /);
    expect((await fetch(`${stack.baseUrl}/fn/acme/hello`)).status).toBe(200);
  });

  it("serves a new version once deployed", async () => {
    const res = await stack.deploy("acme", "hello", { "index.js": "export default { fetch: () => new Response('v2') };" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { version: number }).version).toBe(2);
    expect(await (await fetch(`${stack.baseUrl}/fn/acme/hello`)).text()).toBe("v2");
  });

  it("gives the function its env vars, and the new ones after a change", async () => {
    await stack.deployPublic("acme", "env", fixture("env"));
    await stack.configure("acme", "env", { env: { GREETING: "hello" } });
    expect(await (await fetch(`${stack.baseUrl}/fn/acme/env`)).json()).toEqual({ GREETING: "hello", "(bindings)": ["FUNCTIONS"] });
    await stack.configure("acme", "env", { env: { GREETING: "bonjour", EXTRA: "1" } });
    expect(await (await fetch(`${stack.baseUrl}/fn/acme/env`)).json()).toEqual({ GREETING: "bonjour", EXTRA: "1", "(bindings)": ["FUNCTIONS"] });
  });

  it("records every invocation in the database", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/hello`);
    const id = res.headers.get("x-isle-invocation-id");
    await res.text();
    await stack.stopPart("gateway"); // flushes pending records on the way out
    const rows = await stack.query("select status, http_status, mode from invocations where id = $1", [id]);
    expect(rows).toEqual([{ status: "succeeded", http_status: 200, mode: "sync" }]);
    stack.restart("gateway");
    await stack.waitReady();
  });

  it("refuses management calls without the operator token", async () => {
    const res = await fetch(`${stack.baseUrl}/v1/tenants`, { method: "POST", body: JSON.stringify({ name: "x" }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });
});

describe("embedded database ownership", () => {
  it("refuses a second gateway on the same data directory, clearly, without harming the first", async () => {
    const stack = await Stack.start();
    try {
      const second = spawnSync(process.execPath, [resolve(import.meta.dirname, "../../apps/gateway/dist/main.js")], {
        env: { ...process.env, DATABASE_URL: "", ISLE_DATA_DIR: stack.dataDir, ISLE_PORT: "0", ISLE_CONTROL_PORT: "0" },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/in use by process \d+/);
      expect(second.stderr).toContain("ISLE_DATA_DIR");
      expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
      await stack.createTenant("still-works");
    } finally {
      await stack.stop();
    }
  });
});
