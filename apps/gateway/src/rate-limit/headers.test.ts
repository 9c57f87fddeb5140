import { describe, expect, it } from "vitest";
import { decide, type RatePolicy } from "./gcra.js";
import { rateLimitHeaders, retryAfterSeconds } from "./headers.js";

const now = 1_000_000;
const bucket = (name: string, rate: number, burst: number): RatePolicy => ({ name, key: name, rate, burst });

/** The decision for one request at `now`, given each bucket's stored TAT (undefined: idle). */
function decideAt(policies: RatePolicy[], tats: Array<number | undefined> = []) {
  return decide(policies, tats, now).decision;
}

// The exact syntax of draft-ietf-httpapi-ratelimit-headers-10: §3 RateLimit-Policy
// and §4 RateLimit are Structured Field Lists (RFC 9651 §3.1, members joined
// by ", " per §4.1.1) of Items whose value is the policy's name as a String,
// with Integer parameters q and w (§3.1.1, §3.1.3), r and t (§4.1.1, §4.1.2).
describe("RateLimit-Policy and RateLimit fields", () => {
  it("lists each bucket as a String item with its quota and window, and its remaining requests and reset", () => {
    const decision = decideAt([bucket("tenant", 1000, 2000), bucket("key", 100, 200)]);
    expect(rateLimitHeaders(decision)).toEqual({
      policy: '"tenant";q=2000;w=2, "key";q=200;w=2',
      state: '"tenant";r=1999;t=1, "key";r=199;t=1',
    });
  });

  it("gives the window in whole seconds, never 0, rounded up so that q/w never exceeds the rate", () => {
    const windows = [bucket("slow", 0.5, 3), bucket("fast", 3, 2), bucket("odd", 4, 10)];
    expect(rateLimitHeaders(decideAt(windows)).policy).toBe('"slow";q=3;w=6, "fast";q=2;w=1, "odd";q=10;w=3');
  });

  it("leaves t out for a bucket that is full: it will make no more quota available (§4.1.2, an optional parameter)", () => {
    // The key's bucket (1/s, burst 1) was just used up; the tenant's is idle and stays full, as the request is refused.
    const decision = decideAt([bucket("tenant", 5, 3), bucket("key", 1, 1)], [undefined, now + 1000]);
    expect(decision.allowed).toBe(false);
    expect(rateLimitHeaders(decision).state).toBe('"tenant";r=3, "key";r=0;t=1');
  });

  it("counts t to the next request a bucket admits, so Retry-After is never earlier than it (draft §6)", () => {
    // 0.4/s, burst 2: two requests empty the bucket; the next fits 2.5 s later, though it is full only after 5 s.
    const policies = [bucket("tenant", 0.4, 2)];
    const first = decide(policies, [], now).newTats;
    const second = decide(policies, first, now).newTats;
    const refused = decideAt(policies, second);
    expect(refused.allowed).toBe(false);
    expect(rateLimitHeaders(refused).state).toBe('"tenant";r=0;t=3');
    expect(retryAfterSeconds(refused)).toBe(3);
  });

  it("writes Retry-After as whole delay-seconds, at least 1 (RFC 9110 §10.2.3)", () => {
    for (const [retryAfterMs, seconds] of [[0, 1], [1, 1], [999, 1], [1000, 1], [1001, 2], [2500, 3]] as const) {
      expect(retryAfterSeconds({ allowed: false, retryAfterMs, buckets: [] })).toBe(seconds);
    }
  });

  it("escapes a policy name as an sf-string (RFC 9651 §4.1.6) and refuses one that cannot be", () => {
    expect(rateLimitHeaders(decideAt([bucket('a"b\\c', 1, 1)])).policy).toBe('"a\\"b\\\\c";q=1;w=1');
    expect(() => rateLimitHeaders(decideAt([bucket("ténant", 1, 1)]))).toThrow(/Structured Field String/);
  });
});
