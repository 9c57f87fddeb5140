import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect as connectH2 } from "node:http2";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Stack } from "../harness/stack.js";

const root = resolve(import.meta.dirname, "../..");
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

describe("an agent without its platform certificate", () => {
  it("refuses to start, naming each missing variable", () => {
    const dir = mkdtempSync(join(tmpdir(), "isle-e2e-agent-"));
    try {
      const agent = spawnSync(process.execPath, [join(root, "apps/agent/dist/main.js")], {
        // Only what it would need to start, were certificates optional.
        env: { PATH: process.env.PATH, ISLE_AGENT_SOCKET: join(dir, "agent.sock"), ISLE_AGENT_WORK_DIR: dir, ISLE_AGENT_METRICS_PORT: "off", ISLE_CONTROL_ADDRESS: "127.0.0.1:9" },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(agent.status).toBe(1);
      expect(agent.stderr).toMatch(/invalid agent configuration: ISLE_TLS_CA: required.*; ISLE_TLS_CERT: required.*; ISLE_TLS_KEY: required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer isk_garbage" }, { "x-api-key": `isk_key_${"a".repeat(20)}_${"0".repeat(48)}` }];
    for (const headers of attempts) {
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
    const outcome = await withoutCertificate(Number(sidecar.ISLE_SIDECAR_PORT), sidecar.ISLE_TLS_CA ?? "");
    expect(outcome).not.toBe("answered");
    expect(outcome).toMatch(/refused|closed/);
  });

  it("refuses a client of the control plane port that has no platform certificate, in TLS or in plaintext", async () => {
    const gateway = stack.envs.get("gateway") ?? {};
    const port = Number(gateway.ISLE_CONTROL_PORT);
    const outcome = await withoutCertificate(port, stack.envs.get("agent")?.ISLE_TLS_CA ?? "");
    expect(outcome).not.toBe("answered");
    expect(outcome).toMatch(/refused|closed/);
    // A plaintext HTTP/2 client gets no gRPC answer either: the port speaks only TLS.
    expect(await plaintextH2(port)).not.toMatch(/^answered/);
  });
});

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Opens TLS to a platform port trusting the platform CA but showing no certificate; how the server took it. */
function withoutCertificate(port: number, caFile: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, ca: readFileSync(caFile), ALPNProtocols: ["h2"] });
    // TLS 1.3 finishes the client's side first; the server's refusal arrives as an alert or a close.
    socket.on("secureConnect", () => socket.write(h2Preface));
    socket.on("data", () => resolve("answered"));
    socket.on("error", (err) => resolve(`refused: ${err.message}`));
    socket.on("close", () => resolve("closed"));
  });
}

/** Asks for a function's env over plaintext HTTP/2, as a gRPC client without TLS would; how the server took it. */
function plaintextH2(port: number): Promise<string> {
  const session = connectH2(`http://127.0.0.1:${port}`);
  return new Promise<string>((resolve) => {
    session.on("error", (err) => resolve(`refused: ${err.message}`));
    const req = session.request({ ":method": "POST", ":path": "/isle.control.v1.ControlPlane/GetEnv", "content-type": "application/grpc", te: "trailers" });
    req.on("response", (headers) => resolve(`answered ${String(headers[":status"])}`));
    req.on("error", (err) => resolve(`refused: ${err.message}`));
    req.on("close", () => resolve("closed"));
    req.end(Buffer.alloc(5)); // one empty gRPC message
  }).finally(() => session.destroy());
}
