import { describe, expect, it } from "vitest";
import type { RatePolicy } from "./gcra.js";
import { MemoryRateLimiter } from "./memory-rate-limiter.js";

const tenant = (id: string, rate = 10, burst = 5): RatePolicy => ({ name: "tenant", key: `t:${id}`, rate, burst });

function clocked() {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new MemoryRateLimiter(() => clock.now) };
}

describe("MemoryRateLimiter (GCRA)", () => {
  it("admits a full burst at once, then refuses, saying when to retry", () => {
    const { limiter } = clocked();
    const remaining = Array.from({ length: 5 }, () => limiter.checkSync([tenant("a")]).buckets[0]!.remaining);
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = limiter.checkSync([tenant("a")]);
    expect(refused.allowed).toBe(false);
    // 10/s: one request's room comes back after 100 ms.
    expect(refused.retryAfterMs).toBeCloseTo(100);
    expect(refused.buckets[0]).toMatchObject({ remaining: 0 });
    expect(refused.buckets[0]!.resetMs).toBeCloseTo(500);
  });

  it("refills at the rate: one request per interval, never more than the burst", () => {
    const { clock, limiter } = clocked();
    for (let i = 0; i < 5; i++) limiter.checkSync([tenant("a")]);
    clock.now += 99;
    expect(limiter.checkSync([tenant("a")]).allowed).toBe(false);
    clock.now += 1;
    expect(limiter.checkSync([tenant("a")]).allowed).toBe(true);
    expect(limiter.checkSync([tenant("a")]).allowed).toBe(false);
    // A long idle period refills to the burst, not beyond it.
    clock.now += 60_000;
    const admitted = Array.from({ length: 8 }, () => limiter.checkSync([tenant("a")]).allowed).filter(Boolean).length;
    expect(admitted).toBe(5);
  });

  it("holds a steady rate over time: 10/s for 10 s admits ~100 plus the burst", () => {
    const { clock, limiter } = clocked();
    let admitted = 0;
    // Offered 50/s for 10 s, against 10/s with burst 5.
    for (let i = 0; i < 500; i++) {
      if (limiter.checkSync([tenant("a")]).allowed) admitted++;
      clock.now += 20;
    }
    expect(admitted).toBeGreaterThanOrEqual(104);
    expect(admitted).toBeLessThanOrEqual(106);
  });

  it("keeps tenants apart: one tenant's flood leaves another's bucket untouched", () => {
    const { limiter } = clocked();
    for (let i = 0; i < 1000; i++) limiter.checkSync([tenant("flood")]);
    const other = limiter.checkSync([tenant("quiet")]);
    expect(other.allowed).toBe(true);
    expect(other.buckets[0]!.remaining).toBe(4);
  });

  it("admits only when every bucket has room, and a refusal costs no bucket anything", () => {
    const { limiter } = clocked();
    const key = (id: string): RatePolicy => ({ name: "key", key: `k:${id}`, rate: 10, burst: 2 });
    expect(limiter.checkSync([tenant("a"), key("1")]).allowed).toBe(true);
    expect(limiter.checkSync([tenant("a"), key("1")]).allowed).toBe(true);
    const refused = limiter.checkSync([tenant("a"), key("1")]);
    expect(refused.allowed).toBe(false);
    expect(refused.buckets.map((b) => b.remaining)).toEqual([3, 0]);
    // Key 1's refusals did not spend the tenant's bucket: key 2 gets the remaining 3.
    const other = [1, 2, 3, 4].map(() => limiter.checkSync([tenant("a"), key("2")]).allowed);
    expect(other).toEqual([true, true, false, false]);
  });

  it("forgets buckets that are idle again", () => {
    const { clock, limiter } = clocked();
    for (let i = 0; i < 100; i++) limiter.checkSync([tenant(`t${i}`)]);
    expect(limiter.size).toBe(100);
    clock.now += 20_000;
    limiter.checkSync([tenant("x")]);
    expect(limiter.size).toBe(1);
  });

  it("copes with rates that do not divide a second evenly", () => {
    const { clock, limiter } = clocked();
    const p = tenant("odd", 3, 3);
    expect([1, 2, 3, 4].map(() => limiter.checkSync([p]).allowed)).toEqual([true, true, true, false]);
    clock.now += 334;
    expect(limiter.checkSync([p]).allowed).toBe(true);
    expect(limiter.checkSync([p]).allowed).toBe(false);
  });
});
