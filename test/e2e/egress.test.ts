import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { Stack } from "../harness/stack.js";

interface Result {
  target: string;
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

/** An HTTP server on a loopback address that counts every connection made to it. */
class Canary {
  connections = 0;
  private readonly servers: Server[] = [];
  port = 0;

  async listen(hosts: string[]): Promise<void> {
    for (const host of hosts) {
      const server = createServer((_req, res) => res.end("canary"));
      server.on("connection", () => this.connections++);
      await new Promise<void>((done) => server.listen(this.port, host, () => done()));
      this.port = (server.address() as AddressInfo).port;
      this.servers.push(server);
    }
  }

  close(): void {
    for (const server of this.servers) server.close();
  }
}

/** URLs no function may reach (see the file), aimed at the canary's port. */
function internalUrls(port: number): string[] {
  const { urls } = JSON.parse(readFileSync(new URL("../fixtures/internal-urls.json", import.meta.url), "utf8")) as { urls: string[] };
  return urls.map((url) => url.replace("PORT", String(port)));
}

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Functions' outbound requests through the whole platform: the SSRF matrix
// against a canary on loopback, the platform's own ports, and calls of other
// functions (same tenant only, counted, with the trace context).
describe("egress", () => {
  let stack: Stack;
  const canary = new Canary();
  const allowed = createServer((req, res) => {
    if (req.url === "/redirect") res.writeHead(302, { location: `http://127.0.0.1:${canary.port}/via-redirect` }).end();
    else res.end("allowed");
  });
  let allowedPort = 0;

  async function probe(fn: string, attempts: Array<{ kind: string; target: string }>): Promise<Result[]> {
    const res = await fetch(`${stack.baseUrl}/fn/acme/${fn}/`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent },
      body: JSON.stringify(attempts),
    });
    expect(res.status, stack.tail()).toBe(200);
    return (await res.json()) as Result[];
  }

  beforeAll(async () => {
    await canary.listen(["127.0.0.1", "::1"]);
    await new Promise<void>((done) => allowed.listen(0, "127.0.0.2", () => done()));
    allowedPort = (allowed.address() as AddressInfo).port;
    stack = await Stack.start({ databaseUrl: process.env.DATABASE_URL, domain: "isle.test", egressAllow: "127.0.0.2/32" });
    await stack.createTenant("acme");
    await stack.createTenant("other");
    await stack.deployPublic("acme", "probe", fixture("egress-probe"));
    await stack.deployPublic("acme", "limited", fixture("egress-probe"));
    await stack.configure("acme", "limited", { limits: { subrequests: 2 } });
    expect((await stack.deploy("acme", "callee", fixture("callee"))).status).toBe(201);
    await stack.deployPublic("acme", "call-loop", fixture("call-loop"));
    expect((await stack.deploy("other", "secret", fixture("callee"))).status).toBe(201);
    await stack.deployPublic("other", "open", fixture("callee"));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    canary.close();
    allowed.close();
  });

  it("refuses every internal destination, however it is spelt, and the canary sees nothing", async () => {
    const c = canary.port;
    const agentEnv = stack.envs.get("agent") ?? {};
    const sidecar = agentEnv.ISLE_AGENT_ADVERTISE ?? "";
    const control = agentEnv.ISLE_CONTROL_ADDRESS ?? "";
    const fetches = [
      ...internalUrls(c),
      // The platform's own listeners: the sidecar and the control plane.
      `http://${sidecar}/`,
      `http://${control}/`,
      `http://[::ffff:${sidecar.split(":")[0]}]:${sidecar.split(":")[1]}/`,
      // An allowlisted server that redirects into loopback.
      `http://127.0.0.2:${allowedPort}/redirect`,
    ];
    const connects = [`127.0.0.1:${c}`, `[::1]:${c}`, `localhost:${c}`, sidecar, control];
    const results = await probe("probe", [
      ...fetches.map((target) => ({ kind: "fetch", target })),
      ...connects.map((target) => ({ kind: "connect", target })),
    ]);
    for (const result of results) expect(result, result.target).toMatchObject({ ok: false });
    for (const result of results.slice(0, fetches.length)) expect(result.error, result.target).toMatch(/isle egress: .*\[egress_refused\]/);
    expect(canary.connections).toBe(0);
  });

  it("opens what the operator allowlisted", async () => {
    const [result] = await probe("probe", [{ kind: "fetch", target: `http://127.0.0.2:${allowedPort}/` }]);
    expect(result).toMatchObject({ ok: true, status: 200, body: "allowed" });
  });

  it("lets a function call its tenant's private functions by binding, public URL, host and OpenFaaS path, with its trace", async () => {
    const targets = [
      { kind: "binding", target: "http://callee/by-binding" },
      { kind: "fetch", target: `${stack.baseUrl}/fn/acme/callee/by-url` },
      { kind: "fetch", target: "http://callee--acme.isle.test/by-host" },
      { kind: "fetch", target: "http://gateway/function/callee/openfaas" },
    ];
    const results = await probe("probe", targets);
    const seen = results.map((r) => ({ status: r.status, ...(JSON.parse(r.body ?? "{}") as Record<string, unknown>) }));
    expect(seen).toEqual(
      ["/by-binding", "/by-url", "/by-host", "/openfaas"].map((path) => ({
        status: 200,
        path,
        traceparent,
        sawInternalHeader: false,
        sawAuthorization: false,
      })),
    );
  });

  it("never reaches another tenant's private function, while public ones stay public", async () => {
    const results = await probe("probe", [
      { kind: "fetch", target: `${stack.baseUrl}/fn/other/secret/` },
      { kind: "fetch", target: "http://secret--other.isle.test/" },
      { kind: "fetch", target: `${stack.baseUrl}/fn/other/open/` },
      // The binding and the OpenFaaS path name functions of the caller's own tenant only.
      { kind: "binding", target: "http://secret/" },
    ]);
    expect(results.map((r) => r.status)).toEqual([401, 401, 200, 404]);
    expect(results.map((r) => r.body).join("")).not.toContain("/secret");
  });

  it("counts calls and fetches against the subrequest limit", async () => {
    const results = await probe("limited", [
      { kind: "binding", target: "http://callee/1" },
      { kind: "fetch", target: `http://127.0.0.2:${allowedPort}/` },
      { kind: "binding", target: "http://callee/3" },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]?.error).toMatch(/limit of 2 subrequests/);
  });

  it("stops functions that call each other in a loop", async () => {
    const res = await fetch(`${stack.baseUrl}/fn/acme/call-loop/`);
    expect(res.status, stack.tail()).toBe(200);
    expect(await res.json()).toEqual({ deepest: 8, endedWith: 508, code: "call_depth_exceeded" });
  });
});
