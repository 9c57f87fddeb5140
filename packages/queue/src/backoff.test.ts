import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  const policy = { baseMs: 100, factor: 3, maxMs: 1_000, jitter: 0 };

  it("grows by the factor from the base, and stops at the cap", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt))).toEqual([100, 300, 900, 1_000, 1_000]);
  });

  it("takes up to the jitter share off, never adds", () => {
    const jittery = { ...policy, jitter: 0.5 };
    expect(backoffDelay(jittery, 2, () => 0)).toBe(300);
    expect(backoffDelay(jittery, 2, () => 0.999_999)).toBe(150);
    expect(backoffDelay(jittery, 9, () => 0.5)).toBe(750);
  });

  it("does not overflow on a very late attempt", () => {
    expect(backoffDelay({ ...policy, factor: 10 }, 10_000)).toBe(1_000);
  });
});
