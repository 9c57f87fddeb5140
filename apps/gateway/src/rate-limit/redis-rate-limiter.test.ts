import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "@isle/telemetry";
import type { RatePolicy } from "./gcra.js";
import { MemoryRateLimiter } from "./memory-rate-limiter.js";
import { RedisRateLimiter, createRateLimitRedis } from "./redis-rate-limiter.js";

// The machine's Redis (scripts/services.sh starts it).
const redisUrl = process.env.ISLE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const logger = createLogger({ service: "test", level: "silent" });
const policy = (key: string, rate = 10, burst = 5, name = "tenant"): RatePolicy => ({ name, key, rate, burst });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const probe = createRateLimitRedis(`redis://127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 100; i++) {
      if (await probe.ping().catch(() => undefined)) return child;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("redis-server did not start");
  } finally {
    probe.disconnect();
  }
}

const limiters: RedisRateLimiter[] = [];
function limiter(url = redisUrl, options = {}) {
  const fallback = new MemoryRateLimiter();
  const l = new RedisRateLimiter(createRateLimitRedis(url), fallback, logger, { prefix: `isle:test:${randomUUID()}:`, ...options });
  limiters.push(l);
  return { limiter: l, fallback };
}
async function connected(url = redisUrl, options = {}) {
  const made = limiter(url, options);
  expect(await made.limiter.ready()).toBe(true);
  return made;
}
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
});

describe("RedisRateLimiter (real Redis)", () => {
  it("admits a burst, then refuses with the time to retry", async () => {
    const { limiter: l } = await connected();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await l.check([policy("t:a")]));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
    expect(results.slice(0, 5).map((r) => r.buckets[0]!.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(results[5]!.retryAfterMs).toBeGreaterThan(0);
    expect(results[5]!.retryAfterMs).toBeLessThanOrEqual(100);
    expect(l.usingFallback).toBe(false);
  });

  it("shares buckets between gateways: two limiters on one Redis draw from one bucket", async () => {
    const a = await connected();
    const b = new RedisRateLimiter(createRateLimitRedis(redisUrl), new MemoryRateLimiter(), logger, {
      prefix: (a.limiter as unknown as { prefix: string }).prefix,
    });
    limiters.push(b);
    expect(await b.ready()).toBe(true);
    const p = policy("t:shared", 1, 4);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await a.limiter.check([p])).allowed, (await b.check([p])).allowed);
    expect(decisions.filter(Boolean)).toHaveLength(4);
  });

  it("keeps tenants apart, and spends no bucket on a refused request", async () => {
    const { limiter: l } = await connected();
    for (let i = 0; i < 50; i++) await l.check([policy("t:flood", 10, 5)]);
    expect((await l.check([policy("t:quiet")])).buckets[0]!.remaining).toBe(4);
    const key = (id: string) => policy(`k:${id}`, 10, 1, "key");
    expect((await l.check([policy("t:b"), key("1")])).allowed).toBe(true);
    expect((await l.check([policy("t:b"), key("1")])).allowed).toBe(false);
    const other = await l.check([policy("t:b"), key("2")]);
    expect(other.allowed).toBe(true);
    expect(other.buckets[0]!.remaining).toBe(3);
  });

  it("decides locally, without failing or waiting, when Redis is unreachable", async () => {
    const { limiter: l, fallback } = limiter(`redis://127.0.0.1:${await freePort()}`);
    const started = Date.now();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await l.check([policy("t:down")]));
    expect(Date.now() - started).toBeLessThan(500);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
    expect(l.usingFallback).toBe(true);
    expect(fallback.size).toBe(1);
  });

  it("goes back to Redis once it is reachable again", async () => {
    const port = await freePort();
    let server = await startRedis(port);
    try {
      const { limiter: l } = await connected(`redis://127.0.0.1:${port}`, { retryAfterMs: 100 });
      expect((await l.check([policy("t:r")])).allowed).toBe(true);
      expect(l.usingFallback).toBe(false);
      server.kill("SIGKILL");
      await new Promise((r) => server.once("exit", r));
      expect((await l.check([policy("t:r")])).allowed).toBe(true);
      expect(l.usingFallback).toBe(true);
      server = await startRedis(port);
      // The client reconnects in the background (backoff up to 1 s); the limiter retries every 100 ms.
      const deadline = Date.now() + 5000;
      while (l.usingFallback && Date.now() < deadline) {
        await l.check([policy("t:r2")]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(l.usingFallback).toBe(false);
    } finally {
      server.kill("SIGKILL");
    }
  }, 15_000);

  it("falls back when Redis is slower than the timeout", async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const admin = createRateLimitRedis(`redis://127.0.0.1:${port}`);
    await new Promise((r) => admin.once("ready", r));
    try {
      const { limiter: l } = await connected(`redis://127.0.0.1:${port}`, { timeoutMs: 30 });
      expect((await l.check([policy("t:slow")])).allowed).toBe(true);
      await admin.call("CLIENT", "PAUSE", "500", "ALL");
      const started = Date.now();
      expect((await l.check([policy("t:slow")])).allowed).toBe(true);
      expect(Date.now() - started).toBeLessThan(200);
      expect(l.usingFallback).toBe(true);
    } finally {
      admin.disconnect();
      server.kill("SIGKILL");
    }
  });
});
