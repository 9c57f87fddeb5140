import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CidrList } from "@isle/config";
import type { RequestEgress } from "../runtime.js";
import { MemoryArtifacts, runtimeRequest, startTestRuntime, text } from "./test-helpers.js";
import type { WorkerdRuntime } from "./workerd-runtime.js";

const fixtures = resolve(import.meta.dirname, "../../../../../test/fixtures");
const probeSource = readFileSync(join(fixtures, "functions/egress-probe/index.js"), "utf8");
const internalUrls = (port: number) =>
  (JSON.parse(readFileSync(join(fixtures, "internal-urls.json"), "utf8")) as { urls: string[] }).urls.map((url) => url.replace("PORT", String(port)));

interface Attempt {
  kind: "fetch" | "connect" | "binding";
  target: string;
  headers?: Record<string, string>;
}
interface Result {
  target: string;
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

/** Listens on a loopback address; the port it got. */
async function listen(server: Server | TcpServer, host: string, port = 0): Promise<number> {
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => done());
  });
  return (server.address() as AddressInfo).port;
}

describe("egress from isolates (real workerd)", () => {
  const artifacts = new MemoryArtifacts();
  const hash = artifacts.add(probeSource);
  let runtime: WorkerdRuntime;
  let stopRuntime: () => Promise<void>;
  // The canary: anything that reaches it is an escape. HTTP on 127.0.0.1 and ::1, raw TCP beside it.
  let canaryHits = 0;
  const canary = createHttpServer((_req, res) => {
    canaryHits++;
    res.end("canary");
  });
  const canary6 = createHttpServer((_req, res) => {
    canaryHits++;
    res.end("canary");
  });
  let canaryPort = 0;
  // An operator-allowlisted server (127.0.0.2) that redirects into the canary.
  const allowed = createHttpServer((req, res) => {
    if (req.url?.startsWith("/redirect")) res.writeHead(302, { location: `http://127.0.0.1:${canaryPort}/after-redirect` }).end();
    else res.end("allowed");
  });
  let allowedPort = 0;
  const echoTcp = createTcpServer((socket) => socket.end("tcp-allowed"));
  let echoTcpPort = 0;
  // Stands in for the gateway: records what function calls arrive with.
  const gatewayCalls: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const gateway = createHttpServer((req, res) => {
    gatewayCalls.push({ url: req.url ?? "", headers: req.headers });
    res.end(`gateway saw ${req.url}`);
  });
  let gatewayPort = 0;

  const egress: RequestEgress = {
    tenantName: "acme",
    maxSubrequests: 40,
    callToken: "signed-call-token",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    tracestate: "",
  };

  beforeAll(async () => {
    canaryPort = await listen(canary, "127.0.0.1");
    await listen(canary6, "::1", canaryPort);
    allowedPort = await listen(allowed, "127.0.0.2");
    echoTcpPort = await listen(echoTcp, "127.0.0.2");
    gatewayPort = await listen(gateway, "127.0.0.1");
    ({ runtime, stop: stopRuntime } = await startTestRuntime({
      artifacts,
      processes: 1,
      egress: {
        allow: new CidrList(["127.0.0.2/32"]),
        deny: new CidrList(["127.0.0.1"]),
        gatewayUrl: new URL(`http://127.0.0.1:${gatewayPort}`),
        gatewayOrigins: [`http://127.0.0.1:${gatewayPort}`, "https://isle.example.com"],
        domain: "isle.example.com",
        // DNS as an attacker would arrange it: the name looks public to the first check,
        // but resolves to loopback when workerd connects (the hosts file says so).
        resolve: async (host) => (host === hostname() ? ["93.184.216.34"] : ["127.0.0.1"]),
      },
    }));
  }, 30_000);

  afterAll(async () => {
    await stopRuntime?.();
    for (const server of [canary, canary6, allowed, echoTcp, gateway]) server.close();
  });

  async function probe(attempts: Attempt[], requestEgress: RequestEgress = egress): Promise<Result[]> {
    const body = Buffer.from(JSON.stringify(attempts));
    const { Readable } = await import("node:stream");
    const response = await runtime.invoke(
      runtimeRequest("acme-id", hash, "/", { method: "POST", body: Readable.from([body]), egress: requestEgress }),
    );
    return JSON.parse(await text(response.body)) as Result[];
  }

  it("refuses every loopback, private, link-local, CGNAT and unspecified destination, however it is spelt", async () => {
    // Plus a name the (test) resolver puts on loopback.
    const targets = [...internalUrls(canaryPort), `http://internal.example:${canaryPort}/`];
    const results = await probe(targets.map((target) => ({ kind: "fetch", target })));
    for (const result of results) {
      expect(result, result.target).toMatchObject({ ok: false });
      expect(result.error, result.target).toMatch(/isle egress: .*\[egress_refused\]/);
    }
    expect(results.find((r) => r.target.includes("internal.example"))?.error).toMatch(/resolves to 127\.0\.0\.1/);
    expect(canaryHits).toBe(0);
  });

  it("refuses connect() to such addresses and lets it reach an allowlisted one", async () => {
    const results = await probe([
      { kind: "connect", target: `127.0.0.1:${canaryPort}` },
      { kind: "connect", target: `[::1]:${canaryPort}` },
      { kind: "connect", target: `localhost:${canaryPort}` },
      { kind: "connect", target: `127.0.0.2:${echoTcpPort}` },
    ]);
    expect(results.slice(0, 3).map((r) => r.ok)).toEqual([false, false, false]);
    expect(results[3]).toMatchObject({ ok: true, body: "tcp-allowed" });
    expect(canaryHits).toBe(0);
  });

  it("opens an allowlisted destination, but not a redirect from it into loopback", async () => {
    const results = await probe([
      { kind: "fetch", target: `http://127.0.0.2:${allowedPort}/hello` },
      { kind: "fetch", target: `http://127.0.0.2:${allowedPort}/redirect` },
    ]);
    expect(results[0]).toMatchObject({ ok: true, status: 200, body: "allowed" });
    expect(results[1]).toMatchObject({ ok: false });
    expect(results[1]?.error).toMatch(/127\.0\.0\.1 is an address of the platform itself/);
    expect(canaryHits).toBe(0);
  });

  it("holds at workerd's network layer when a name resolves elsewhere by the time it connects", async () => {
    // The first layer saw a public address for this name; workerd resolves it to loopback.
    const [result] = await probe([{ kind: "fetch", target: `http://${hostname()}:${canaryPort}/` }]);
    expect(result?.ok).toBe(false);
    expect(result?.error).not.toMatch(/isle egress/);
    expect(canaryHits).toBe(0);
  });

  it("routes calls of the tenant's functions to the gateway with the call token and trace context", async () => {
    gatewayCalls.length = 0;
    const g = `http://127.0.0.1:${gatewayPort}`;
    const results = await probe([
      { kind: "binding", target: "http://other/from-binding?x=1" },
      { kind: "fetch", target: "http://gateway/function/other/openfaas-style" },
      { kind: "fetch", target: `${g}/fn/acme/other/public-url` },
      { kind: "fetch", target: "https://isle.example.com/fn/acme/other/public-origin" },
      { kind: "fetch", target: "http://other--acme.isle.example.com/host-form" },
      { kind: "fetch", target: `${g}/v1/tenants`, headers: { "x-isle-call-token": "forged" } },
      { kind: "fetch", target: `${g}/fn/acme/other/own-trace`, headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" } },
    ]);
    expect(results.every((r) => r.ok && r.status === 200)).toBe(true);
    expect(gatewayCalls.map((call) => call.url)).toEqual([
      "/fn/acme/other/from-binding?x=1",
      "/fn/acme/other/openfaas-style",
      "/fn/acme/other/public-url",
      "/fn/acme/other/public-origin",
      "/host-form",
      "/v1/tenants",
      "/fn/acme/other/own-trace",
    ]);
    for (const call of gatewayCalls.slice(0, 5)) {
      expect(call.headers["x-isle-call-token"]).toBe("signed-call-token");
      expect(call.headers["traceparent"]).toBe(egress.traceparent);
      expect(call.headers["x-isle-egress-invocation"]).toBeUndefined();
    }
    expect(gatewayCalls[4]?.headers.host).toBe("other--acme.isle.example.com");
    // The management API is not a function call: no token, and a forged one never passes as ours.
    expect(gatewayCalls[5]?.headers["x-isle-call-token"]).toBe("forged");
    expect(gatewayCalls[6]?.headers["traceparent"]).toBe("00-11111111111111111111111111111111-2222222222222222-01");
  });

  it("counts every outbound request against the invocation's subrequest limit", async () => {
    const attempts: Attempt[] = Array.from({ length: 5 }, (_, i) => ({ kind: i % 2 ? "binding" : "fetch", target: i % 2 ? "http://other/" : `http://127.0.0.2:${allowedPort}/` }));
    const results = await probe(attempts, { ...egress, maxSubrequests: 3 });
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    expect(results[3]?.error).toMatch(/limit of 3 subrequests \[subrequest_limit\]/);
  });
});
