import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Stack } from "../harness/stack.js";

const secretBody = "acme-private-body";

/** Sends a request with the path exactly as given (fetch would normalise it). */
function raw(stack: Stack, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

// Tenant isolation on the invoke path: no trick of path or Host reaches a
// private function of another tenant without that tenant's key.
describe("invoke path security", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL });
    await stack.createTenant("acme");
    await stack.createTenant("other");
    const res = await stack.deploy("acme", "hello", { "index.js": `export default { fetch: () => new Response(${JSON.stringify(secretBody)}) };` });
    expect(res.status).toBe(201);
    await stack.deployPublic("other", "open", { "index.js": "export default { fetch: (r) => new Response('open ' + new URL(r.url).pathname) };" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("keeps a private function private: no key, a malformed key, a forged one", async () => {
    for (const headers of [{}, { authorization: "Bearer isk_garbage" }, { "x-api-key": `isk_key_${"a".repeat(20)}_${"0".repeat(48)}` }]) {
      const res = await raw(stack, "/fn/acme/hello", headers);
      expect(res.status).toBe(401);
      expect(res.body).not.toContain(secretBody);
    }
  });

  it.each([
    "/fn/other/open/../../acme/hello",
    "/fn/other/open/..%2F..%2Facme%2Fhello",
    "/fn/other/open/%2e%2e/%2e%2e/acme/hello",
    "/fn/other/%2e%2e/acme/hello",
    "/fn//acme/hello",
    "/fn/acme%2Fhello/x",
    "/fn/acme/hello%2F",
    "//fn/acme/hello",
    "/fn/ACME/hello",
    "/fn/acme/hello?tenant=other",
  ])("never serves acme's private function through %s", async (path) => {
    const res = await raw(stack, path);
    expect(res.body).not.toContain(secretBody);
    expect([200, 401, 404]).toContain(res.status);
  });

  it("ignores function Host headers when no domain is configured", async () => {
    const res = await raw(stack, "/", { host: "hello--acme.example.test" });
    expect(res.status).toBe(404);
    expect(res.body).not.toContain(secretBody);
  });

  it("never lets a client-sent platform header reach the function", async () => {
    await stack.deployPublic("other", "headers", { "index.js": "export default { fetch: (r) => Response.json([...r.headers]) };" });
    const res = await raw(stack, "/fn/other/headers", {
      "x-isle-invocation-id": "forged",
      "x-isle-client-ip": "6.6.6.6",
      "x-isle-isolate-id": "acme:dep:hash",
      authorization: "Bearer secret",
    });
    const headers = new Map(JSON.parse(res.body) as Array<[string, string]>);
    expect(headers.get("x-isle-invocation-id")).not.toBe("forged");
    expect(headers.get("x-isle-client-ip")).toBe("127.0.0.1");
    expect(headers.has("x-isle-isolate-id")).toBe(false);
    expect(headers.has("authorization")).toBe(false);
  });

  it("refuses a TLS client of the sidecar port that has no platform certificate", async () => {
    const sidecar = stack.envs.get("sidecar") ?? {};
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: Number(sidecar.ISLE_SIDECAR_PORT), ca: readFileSync(sidecar.ISLE_TLS_CA ?? ""), ALPNProtocols: ["h2"] });
      // TLS 1.3 finishes the client's side first; the server's refusal arrives as an alert or a close.
      socket.on("secureConnect", () => socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
      socket.on("data", () => resolve("answered"));
      socket.on("error", (err) => resolve(`refused: ${err.message}`));
      socket.on("close", () => resolve("closed"));
    });
    expect(outcome).not.toBe("answered");
    expect(outcome).toMatch(/refused|closed/);
  });
});
