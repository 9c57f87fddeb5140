import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { freePort } from "../harness/ports.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

/** A Redis of this test's own, so it can be stopped and started again under a running gateway. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        const probe = spawn("redis-cli", ["-p", String(port), "ping"], { stdio: "ignore" });
        probe.on("exit", (code) => resolve(code === 0));
      }),
    10_000,
    "redis-server to start",
  );
  return child;
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code;
}

// Rate limits on the real path: gateway buckets on Redis, the sidecar's per-tenant concurrency.
describe("rate limits", () => {
  let stack: Stack;
  let redis: ChildProcess;
  let redisPort: number;
  const url = (path: string) => `${stack.baseUrl}${path}`;
  const inTurn = async (n: number, path: string) => {
    const answers: Response[] = [];
    for (let i = 0; i < n; i++) answers.push(await fetch(url(path)));
    return answers;
  };

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    stack = await Stack.start({
      databaseUrl: process.env.DATABASE_URL,
      env: {
        // 5/s with a burst of 5 per tenant unless a tenant sets more.
        gateway: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, ISLE_TENANT_RATE: "5", ISLE_TENANT_BURST: "5" },
        sidecar: { ISLE_SIDECAR_TENANT_CONCURRENCY: "2" },
      },
    });
    for (const tenant of ["flood", "quiet", "busy"]) {
      await stack.createTenant(tenant);
      await stack.deployPublic(tenant, "hello", fixture("hello"));
      await stack.deployPublic(tenant, "slow", fixture("slow"));
    }
    // The concurrency tests need more than five requests a second.
    const res = await stack.operator("/v1/tenants/busy", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ quotas: { ratePerSecond: 1000, rateBurst: 1000 } }),
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
    redis?.kill("SIGKILL");
  });

  it("answers one tenant's flood with 429s and headers, and never another tenant's requests", async () => {
    // One at a time: in parallel, the sidecar's concurrency limit of 2 would refuse some as well.
    const started = Date.now();
    const flood = await inTurn(30, "/fn/flood/hello");
    // The bucket refills at 5/s while the flood runs: a slow machine earns a few more.
    const refilled = Math.ceil(((Date.now() - started) / 1000) * 5);
    const quiet = await inTurn(5, "/fn/quiet/hello");
    const floodStatuses = flood.map((r) => r.status);
    const admitted = floodStatuses.filter((s) => s === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(admitted).toBeLessThanOrEqual(5 + refilled + 1);
    expect(floodStatuses.filter((s) => s === 429).length).toBe(30 - admitted);
    expect(admitted).toBeLessThan(30);
    expect(quiet.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);

    const refused = flood.find((r) => r.status === 429)!;
    expect(await errorCode(refused)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get("ratelimit-policy")).toBe('"tenant";q=5;w=1');
    expect(refused.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=\d+$/);
    expect(refused.headers.get("x-isle-invocation-id")).toMatch(/^inv_/);
    const served = quiet[0]!;
    expect(await served.text()).toMatch(/hello/i);
    expect(served.headers.get("ratelimit")).toMatch(/^"tenant";r=[0-4];t=\d+$/);
  });

  it("shares the buckets through Redis", async () => {
    const keys = await new Promise<string>((resolve) => {
      const cli = spawn("redis-cli", ["-p", String(redisPort), "--scan", "--pattern", "isle:rl:*"]);
      let out = "";
      cli.stdout.on("data", (d: Buffer) => (out += String(d)));
      cli.on("exit", () => resolve(out));
    });
    expect(keys).toMatch(/isle:rl:t:\{ten_/);
  });

  it("keeps serving with the local limiter while Redis is down, and goes back to it when it returns", async () => {
    redis.kill("SIGKILL");
    await once(redis, "exit");
    await new Promise((r) => setTimeout(r, 1100));
    const during = await inTurn(8, "/fn/quiet/hello");
    const statuses = during.map((r) => r.status);
    // Nothing fails for want of Redis: the local buckets admit the burst, then refuse.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    await waitUntil(async () => stack.logs.gateway.some((l) => l.includes("deciding locally")), 5000, "the gateway to say it decides locally");

    redis = await startRedis(redisPort);
    await waitUntil(
      async () => {
        await fetch(url("/fn/busy/hello"));
        return stack.logs.gateway.some((l) => l.includes("Redis is back"));
      },
      10_000,
      "the gateway to use Redis again",
    );
  });

  it("holds a tenant to its concurrency on the node at the sidecar, leaving other tenants alone", async () => {
    expect((await fetch(url("/fn/busy/slow?ms=0"))).status).toBe(200);
    const heldSeen: string[] = [];
    const held = [1, 2].map(() =>
      fetch(url("/fn/busy/slow?ms=1500")).then((r) => (heldSeen.push(`${r.status} at ${Date.now()}`), r)),
    );
    let last = "";
    await waitUntil(
      async () => {
        const r = await fetch(url("/fn/busy/slow?ms=0"));
        last = `${r.status} ${await r.clone().text()}`;
        return r.status === 429;
      },
      5000,
      "both of the tenant's slots to be taken",
    ).catch((err: Error) => {
      throw new Error(`${err.message}; held answered ${JSON.stringify(heldSeen)}; last probe ${last}`);
    });
    const excess = await fetch(url("/fn/busy/slow?ms=0"));
    expect(excess.status).toBe(429);
    expect(await errorCode(excess)).toBe("tenant_concurrency_limit");
    expect(excess.headers.get("retry-after")).toBe("1");
    // Admitted by the gateway's buckets, which say so on the sidecar's refusal too.
    expect(excess.headers.get("ratelimit")).toMatch(/^"tenant";r=\d+;t=\d+$/);
    // Another tenant on the same node is not counted with it.
    expect((await fetch(url("/fn/quiet/slow?ms=0"))).status).toBe(200);
    const heldAnswers = await Promise.all(held);
    expect(heldAnswers.map((r) => r.status), await heldAnswers[0]!.clone().text()).toEqual([200, 200]);
    // The agent's trailers gave the slots back.
    const after = await Promise.all([fetch(url("/fn/busy/slow?ms=0")), fetch(url("/fn/busy/slow?ms=0"))]);
    expect(after.map((r) => r.status)).toEqual([200, 200]);
  });
});
