import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { errorOf, startTestGateway, type TestGateway } from "../test-support/test-gateway.js";
import { MemoryRateLimiter } from "./memory-rate-limiter.js";

const hello = { "index.js": "export default { fetch: () => new Response('hi') }" };

describe("invoke rate limits (gateway routes)", () => {
  let gw: TestGateway;
  let calls = 0;
  // The limiter's clock: it moves only when a test moves it, so no budget refills while a slow
  // machine runs a loop of requests.
  let clock = Date.now();
  const reportAgent = () =>
    gw.membership.report(
      { agentId: "a1", address: "127.0.0.1:1", capacity: 10, inFlight: 0, loaded: [], sentAtUnixMs: 0, draining: false, workerdReady: 1 },
      {},
    );
  beforeAll(async () => {
    gw = await startTestGateway({
      rateLimiter: new MemoryRateLimiter(() => clock),
      invoker: {
        invoke: async () => {
          calls++;
          return { response: new Response("hi"), coldStart: false, outcome: Promise.resolve({ errorCode: undefined, fault: undefined }) };
        },
        close: () => undefined,
      },
      // Platform defaults in this test: 5/s, burst 3 per tenant; keys 5/s, burst 2.
      rateDefaults: { tenant: { rate: 5, burst: 3 }, key: { rate: 5, burst: 2 } },
    });
    for (const tenant of ["flood", "quiet", "keyed", "tuned"]) {
      await gw.createTenant(tenant);
      expect((await gw.deploy(tenant, "hello", hello)).status).toBe(201);
      expect((await gw.operator(`/v1/tenants/${tenant}/functions/hello`, { method: "PUT", json: { visibility: "public" } })).status).toBe(200);
    }
    expect((await gw.deploy("keyed", "private", hello)).status).toBe(201);
  }, 60_000);
  // The agent reports as a live one does, so it is healthy whatever time the tests take.
  beforeEach(reportAgent);
  afterAll(async () => {
    await gw?.close();
  });

  it("answers 429 rate_limited past the tenant's burst, with Retry-After and the draft's RateLimit fields", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await gw.request("/fn/flood/hello");
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = last!;
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("ratelimit-policy")).toBe('"tenant";q=3;w=1');
    expect(refused.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=1$/);
    expect(refused.headers.get("x-isle-invocation-id")).toMatch(/^inv_/);
    const error = await errorOf(refused);
    expect(error.code).toBe("rate_limited");
    expect(error.message).toMatch(/tenant/);
  });

  it("shows the remaining budget on admitted invokes too", async () => {
    const res = await gw.request("/fn/tuned/hello");
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"tenant";r=2;t=1');
  });

  it("does not let one tenant's flood touch another's budget", async () => {
    const before = calls;
    let floodAdmitted = 0;
    for (let i = 0; i < 20; i++) if ((await gw.request("/fn/flood/hello")).status === 200) floodAdmitted++;
    // Its burst went on the first test, and nothing refilled since.
    expect(floodAdmitted).toBe(0);
    const quiet = await Promise.all([1, 2, 3].map(() => gw.request("/fn/quiet/hello")));
    expect(quiet.map((r) => r.status)).toEqual([200, 200, 200]);
    // The refused floods never reached an agent.
    expect(calls - before).toBe(floodAdmitted + 3);
  });

  it("limits each API key on its own, inside its tenant's budget", async () => {
    const a = await gw.createKey("keyed", { name: "a", scopes: ["invoke"] });
    const b = await gw.createKey("keyed", { name: "b", scopes: ["invoke"] });
    const byA = [];
    for (let i = 0; i < 3; i++) byA.push(await gw.request("/fn/keyed/private", {}, a.key));
    expect(byA.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(byA[2]!.headers.get("ratelimit-policy")).toBe('"tenant";q=3;w=1, "key";q=2;w=1');
    expect(byA[2]!.headers.get("ratelimit")).toMatch(/^"tenant";r=1;t=\d, "key";r=0;t=1$/);
    expect((await errorOf(byA[2]!)).message).toMatch(/rate limit of this key reached/);
    // Key b has its own bucket; the tenant's has one left.
    expect((await gw.request("/fn/keyed/private", {}, b.key)).status).toBe(200);
    expect((await gw.request("/fn/keyed/private", {}, b.key)).status).toBe(429);
  });

  it("spends nothing on requests that fail authorisation", async () => {
    for (let i = 0; i < 10; i++) expect((await gw.request("/fn/tuned/nope", {}, "isk_bad_bad")).status).toBe(404);
    const res = await gw.request("/fn/tuned/hello");
    expect(res.status).toBe(200);
  });

  it("takes a tenant's own rate and burst over the defaults, and null restores them", async () => {
    // A second later: the budget the other tests spent has refilled.
    clock += 1_000;
    const set = await gw.operator("/v1/tenants/tuned", { method: "PATCH", json: { quotas: { ratePerSecond: 100, rateBurst: 50 } } });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { quotas: unknown }).quotas).toEqual({ ratePerSecond: 100, rateBurst: 50 });
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await gw.request("/fn/tuned/hello")).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const res = await gw.request("/fn/tuned/hello");
    expect(res.headers.get("ratelimit-policy")).toBe('"tenant";q=50;w=1');

    const bad = await gw.operator("/v1/tenants/tuned", { method: "PATCH", json: { quotas: { ratePerSecond: 0 } } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^quotas\.ratePerSecond/);
    const reset = await gw.operator("/v1/tenants/tuned", { method: "PATCH", json: { quotas: { ratePerSecond: null, rateBurst: null } } });
    expect(((await reset.json()) as { quotas: unknown }).quotas).toEqual({});
  });

  it("leaves the management API unlimited", async () => {
    for (let i = 0; i < 10; i++) expect((await gw.operator("/v1/tenants/flood")).status).toBe(200);
  });
});
