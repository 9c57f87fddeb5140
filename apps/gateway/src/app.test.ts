import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findApiKeyById, openDatabase, type Database, type NewInvocation } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { agentV1 } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { createApp } from "./app.js";
import { ApiKeyVerifier } from "./auth/api-keys.js";
import { CallTokens, maxCallDepth } from "./invoke/call-token.js";
import { InvocationRecorder } from "./invoke/invocation-recorder.js";
import { OutlierDetector } from "./invoke/outlier-detector.js";
import { Membership } from "./control/membership.js";
import type { Invoker, InvokeSpec } from "./invoke/sidecar-invoker.js";
import { CachedTargetResolver, resolveTarget } from "./invoke/target-resolver.js";
import { SecretBox } from "./secrets/secret-box.js";
import { MemoryRateLimiter } from "./rate-limit/memory-rate-limiter.js";

const token = "operator-token-for-tests";
const metricsToken = "metrics-token-for-tests";

/** Stands in for the sidecar hop: records the head, answers as told. */
class FakeInvoker implements Invoker {
  heads: agentV1.RequestHead[] = [];
  /** What the function wrote, as the trailer brings it. */
  output: agentV1.LogLine[] = [];
  answer: () => Promise<Response> = async () => new Response("from the function", { status: 201, headers: { "x-fn": "1" } });
  async invoke(_agent: unknown, spec: InvokeSpec) {
    this.heads.push(spec.head);
    if (this.output.length > 0) spec.onLogs?.(this.output);
    return { response: await this.answer(), coldStart: false, outcome: Promise.resolve({ errorCode: undefined, fault: undefined }) };
  }
  close(): void {}
}

describe("gateway app", () => {
  let database: Database;
  let dir: string;
  const membership = new Membership();
  const invoker = new FakeInvoker();
  const callTokens = new CallTokens(randomBytes(32));
  const records: NewInvocation[] = [];
  let app: ReturnType<typeof createApp>;

  const operator = (path: string, init: RequestInit = {}) =>
    app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const deploy = (fn: string, files: Record<string, string>) => {
    const form = new FormData();
    for (const [path, text] of Object.entries(files)) form.append("file", new Blob([text]), path);
    return operator(`/v1/tenants/acme/functions/${fn}/deployments`, { method: "POST", body: form });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "isle-gw-"));
    database = await openDatabase({ dataDir: dir });
    const db = database.db;
    const secretBox = new SecretBox(randomBytes(32));
    app = createApp({
      db,
      resolver: new CachedTargetResolver((t, f, b) => resolveTarget(db, t, f, b), 0),
      membership,
      invoker,
      verifier: new ApiKeyVerifier((id) => findApiKeyById(db, id)),
      recorder: new InvocationRecorder(async (rows) => void records.push(...rows), createLogger({ service: "t", level: "silent" }), { flushMs: 1 }),
      domain: "fn.example.test",
      readiness: { database: async () => undefined, healthyAgents: () => membership.healthy().length },
      adminToken: token,
      limits: { maxUploadBytes: 64 * 1024, maxBundleBytes: 1024 * 1024 },
      logger: createLogger({ service: "gateway", level: process.env.DBG ? "error" : "silent" }),
      secretBox,
      callTokens,
      metricsToken,
      outliers: new OutlierDetector(),
      rateLimiter: new MemoryRateLimiter(),
      rateDefaults: { tenant: { rate: 10_000, burst: 10_000 }, key: { rate: 10_000, burst: 10_000 } },
    });
    expect((await operator("/v1/tenants", json({ name: "acme" }))).status).toBe(201);
    expect((await deploy("hello", { "index.js": "export default { fetch: () => new Response('hi') }" })).status).toBe(201);
    expect((await deploy("secret", { "index.js": "export default { fetch: () => new Response('hi') }" })).status).toBe(201);
    expect((await operator("/v1/tenants/acme/functions/hello", { ...json({ visibility: "public" }), method: "PUT" })).status).toBe(200);
  });
  afterAll(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("management", () => {
    it("needs the operator token, in the error shape", async () => {
      for (const authorization of [undefined, "Bearer wrong", `Basic ${token}`, token]) {
        const res = await app.request("/v1/tenants", { ...json({ name: "x" }), headers: authorization ? { authorization } : {} });
        expect(res.status).toBe(401);
        const body = (await res.json()) as { error: { code: string; requestId: string } };
        expect(body.error.code).toBe("unauthorized");
        expect(body.error.requestId).toMatch(/^req_/);
      }
    });

    it("rejects bad tenant bodies with a code", async () => {
      const cases: Array<[RequestInit, number, string]> = [
        [{ ...json({ name: "acme" }) }, 409, "conflict"],
        [{ ...json({ name: "Not_A_Label" }) }, 400, "validation_failed"],
        [{ ...json({ name: "ok", extra: 1 }) }, 400, "validation_failed"],
        [{ method: "POST", body: "{not json" }, 400, "bad_request"],
      ];
      for (const [init, status, code] of cases) {
        const res = await operator("/v1/tenants", init);
        expect(res.status, `${JSON.stringify(init)} ${await res.clone().text()}`).toBe(status);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      }
    });

    it("refuses uploads over the size limit with 413", async () => {
      const res = await deploy("big", { "index.js": "x".repeat(100 * 1024) });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    });

    it("refuses paths that leave the upload", async () => {
      const res = await deploy("evil", { "../index.js": "export default { fetch: () => new Response('x') }" });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/invalid file path/);
    });

    it("answers 404 for another tenant's path exactly as for a missing one", async () => {
      const a = await operator("/v1/tenants/nobody/functions/hello", { ...json({}), method: "PUT" });
      expect(a.status).toBe(404);
      expect((await a.json()) as unknown).toMatchObject({ error: { code: "not_found", message: "tenant not found" } });
    });
  });

  describe("invoke", () => {
    it("answers 503 with Retry-After while no agent is healthy", async () => {
      const res = await app.request("/fn/acme/hello");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("x-isle-invocation-id")).toMatch(/^inv_/);
    });

    it("passes the function's answer through untouched and strips credentials", async () => {
      membership.report(
        { agentId: "a1", address: "127.0.0.1:1", capacity: 10, inFlight: 0, loaded: [], sentAtUnixMs: 0, draining: false, workerdReady: 1 },
        {},
      );
      const res = await app.request("/fn/acme/hello/x?y=1", { headers: { authorization: "Bearer k", "x-isle-attempt": "9" } });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-fn")).toBe("1");
      expect(await res.text()).toBe("from the function");
      const head = invoker.heads.at(-1)!;
      expect(head.path).toBe("/x?y=1");
      expect(head.function?.functionName).toBe("hello");
      expect(head.headers.map((h) => h.name)).not.toContain("authorization");
      expect(head.headers.find((h) => h.name === "x-isle-attempt")).toBeUndefined();
    });

    it("routes <function>--<tenant>.<domain> hosts to the function, whatever the path", async () => {
      const res = await app.request("/v1/tenants", { headers: { host: "hello--acme.fn.example.test" } });
      expect(res.status).toBe(201);
      expect(invoker.heads.at(-1)?.path).toBe("/v1/tenants");
      expect(invoker.heads.at(-1)?.function?.functionName).toBe("hello");
      const other = await app.request("/x", { headers: { host: "hello--nobody.fn.example.test" } });
      expect(other.status).toBe(404);
    });

    it("needs a key of the tenant for a private function, with the same 401 whatever is wrong", async () => {
      const bodies = new Set<string>();
      const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer nonsense" }, { "x-api-key": "isk_key_aaaaaaaaaaaaaaaaaaaa_" + "0".repeat(48) }];
      for (const headers of attempts) {
        const res = await app.request("/fn/acme/secret", { headers });
        expect(res.status).toBe(401);
        const body = (await res.json()) as { error: { code: string; message: string } };
        bodies.add(`${body.error.code}:${body.error.message}`);
      }
      expect(bodies.size).toBe(1);
    });

    it("lets a function call a private function of its own tenant with its call token, and no other", async () => {
      await app.request("/fn/acme/hello/");
      const token = invoker.heads.at(-1)?.callToken ?? "";
      const claims = callTokens.verify(token, Date.now());
      expect(claims).toMatchObject({ depth: 1, invocationId: invoker.heads.at(-1)?.invocationId });

      const called = await app.request("/fn/acme/secret/", { headers: { "x-isle-call-token": token } });
      expect(called.status).toBe(201);
      // The nested call's own token is one level deeper.
      expect(callTokens.verify(invoker.heads.at(-1)?.callToken, Date.now())?.depth).toBe(2);

      const forged = new CallTokens(randomBytes(32)).mint({ ...claims!, expiresAtMs: Date.now() + 60_000 });
      const otherTenant = callTokens.mint({ ...claims!, tenantId: "ten_other" });
      const expired = callTokens.mint({ ...claims!, expiresAtMs: Date.now() - 1 });
      for (const bad of [forged, otherTenant, expired]) {
        expect((await app.request("/fn/acme/secret/", { headers: { "x-isle-call-token": bad } })).status).toBe(401);
      }
      const tooDeep = callTokens.mint({ ...claims!, depth: maxCallDepth });
      const loop = await app.request("/fn/acme/secret/", { headers: { "x-isle-call-token": tooDeep } });
      expect(loop.status).toBe(508);
      expect(((await loop.json()) as { error: { code: string } }).error.code).toBe("call_depth_exceeded");
    });

    it("records every invocation", async () => {
      const res = await app.request("/fn/acme/hello/recorded");
      const id = res.headers.get("x-isle-invocation-id");
      await new Promise((r) => setTimeout(r, 20));
      const mine = records.filter((r) => r.id === id);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ mode: "sync", status: "succeeded", httpStatus: 201, functionId: expect.stringMatching(/^fn_/) });
    });

    it("records the trace id of the traceparent sent to the agent, none without one", async () => {
      const client = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const traced = (await app.request("/fn/acme/hello/traced", { headers: { traceparent: client } })).headers.get("x-isle-invocation-id");
      const sent = invoker.heads.at(-1)?.trace?.traceparent;
      const untraced = (await app.request("/fn/acme/hello/untraced")).headers.get("x-isle-invocation-id");
      await new Promise((r) => setTimeout(r, 20));
      // Tracing is off in this app: the agent is handed the client's traceparent as it came.
      expect(sent).toBe(client);
      expect(records.find((r) => r.id === traced)?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
      expect(records.find((r) => r.id === untraced)?.traceId).toBeNull();
    });

    it("records the function's output with its invocation, failed or not", async () => {
      const at = Date.parse("2026-11-22T10:00:00Z");
      invoker.output = [
        { unixMs: at, level: "log", message: 'two\nlines \u001b[31m{"tenant":"other"}' },
        { unixMs: at, level: "exception", message: "Uncaught Error: boom\n    at index.js:1:1" },
      ];
      const stored = [
        { at: "2026-11-22T10:00:00.000Z", level: "log", message: 'two\nlines \u001b[31m{"tenant":"other"}' },
        { at: "2026-11-22T10:00:00.000Z", level: "exception", message: "Uncaught Error: boom\n    at index.js:1:1" },
      ];
      const answered = (await app.request("/fn/acme/hello/logged")).headers.get("x-isle-invocation-id");
      invoker.answer = async () => {
        throw new IsleError("function_error", "the function threw");
      };
      await app.request("/fn/acme/hello/logged");
      const failedId = invoker.heads.at(-1)?.invocationId;
      invoker.output = [];
      await new Promise((r) => setTimeout(r, 20));
      expect(records.find((r) => r.id === answered)?.logs).toEqual(stored);
      expect(records.find((r) => r.id === failedId)).toMatchObject({ status: "failed", errorCode: "function_error", logs: stored });
    });

    it("maps runtime failures to their codes", async () => {
      invoker.answer = async () => {
        throw new IsleError("function_error", "the function threw");
      };
      const res = await app.request("/fn/acme/hello");
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("function_error");
    });

    it("tells a client refused for the function's concurrency to retry in a second", async () => {
      invoker.answer = async () => {
        throw new IsleError("concurrency_limit", "the function is at its concurrency limit");
      };
      const res = await app.request("/fn/acme/hello");
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("concurrency_limit");
    });

    it("refuses a body whose Content-Length is over the function's cap without reaching an agent", async () => {
      invoker.answer = async () => new Response("ok");
      expect((await operator("/v1/tenants/acme/functions/hello", { ...json({ limits: { maxRequestBytes: 1024 } }), method: "PUT" })).status).toBe(200);
      const sent = invoker.heads.length;
      const over = await app.request("/fn/acme/hello", { method: "POST", body: "x".repeat(1025), headers: { "content-length": "1025" } });
      expect(over.status).toBe(413);
      expect(((await over.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
      expect(invoker.heads.length).toBe(sent);
      const within = await app.request("/fn/acme/hello", { method: "POST", body: "x".repeat(1024), headers: { "content-length": "1024" } });
      expect(within.status).toBe(200);
      expect(invoker.heads.at(-1)?.limits?.maxRequestBytes).toBe(1024);
    });

    it("answers unknown routes in the error shape", async () => {
      const res = await app.request("/nowhere");
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    });
  });

  describe("metrics", () => {
    const scrape = (authorization: string) => app.request("/metrics", { headers: { authorization } });
    /** The value of one series in a scrape, 0 when absent. */
    const valueOf = (text: string, series: string) => Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1] ?? 0);

    it("needs the operator token or the metrics token, and refuses everything else with the same 401", async () => {
      for (const authorization of ["", "Bearer wrong-token-of-some-length", `Basic ${token}`, metricsToken]) {
        const res = await app.request("/metrics", { headers: authorization ? { authorization } : {} });
        expect(res.status, authorization).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
      }
      // Not through the x-api-key header either: that is where tenant keys go.
      expect((await app.request("/metrics", { headers: { "x-api-key": token } })).status).toBe(401);
      // A tenant's admin key reads its own tenant, not every tenant's traffic.
      const created = await operator("/v1/tenants/acme/keys", json({ name: "admin", scopes: ["admin"] }));
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: string };
      expect((await scrape(`Bearer ${key}`)).status).toBe(401);
      for (const credential of [token, metricsToken]) {
        const res = await scrape(`Bearer ${credential}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
        expect(await res.text()).toContain("# TYPE isle_gateway_invocations_total counter");
      }
    });

    it("counts an invoke once, with its duration, and reports healthy agents", async () => {
      membership.report(
        { agentId: "a1", address: "127.0.0.1:1", capacity: 10, inFlight: 0, loaded: [], sentAtUnixMs: 0, draining: false, workerdReady: 1 },
        {},
      );
      invoker.answer = async () => new Response("ok", { status: 202 });
      const series = 'isle_gateway_invocations_total{tenant="acme",function="hello",status="2xx",error="none"}';
      const histogram = 'isle_gateway_invocation_duration_seconds_count{tenant="acme",function="hello"}';
      const before = await (await scrape(`Bearer ${token}`)).text();
      const res = await app.request("/fn/acme/hello");
      expect(await res.text()).toBe("ok");
      await new Promise((r) => setTimeout(r, 10));
      const after = await (await scrape(`Bearer ${token}`)).text();
      expect(valueOf(after, series) - valueOf(before, series)).toBe(1);
      expect(valueOf(after, histogram) - valueOf(before, histogram)).toBe(1);
      expect(valueOf(after, "isle_gateway_healthy_agents")).toBe(1);
      expect(valueOf(after, "isle_gateway_queue_depth")).toBe(0);
    });

    it("counts a platform error by its code", async () => {
      invoker.answer = async () => {
        throw new IsleError("timeout", "the function did not answer in time");
      };
      const series = 'isle_gateway_invocations_total{tenant="acme",function="hello",status="5xx",error="timeout"}';
      const before = valueOf(await (await scrape(`Bearer ${token}`)).text(), series);
      expect((await app.request("/fn/acme/hello")).status).toBe(504);
      expect(valueOf(await (await scrape(`Bearer ${token}`)).text(), series) - before).toBe(1);
    });
  });
});
