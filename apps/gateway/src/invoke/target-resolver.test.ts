import { describe, expect, it } from "vitest";
import { testTarget } from "../test-support/targets.js";
import { CachedTargetResolver } from "./target-resolver.js";

const target = testTarget;

describe("CachedTargetResolver", () => {
  it("serves from cache within the time to live, then looks again", async () => {
    let now = 0;
    let version = 1;
    let lookups = 0;
    const resolver = new CachedTargetResolver(async () => (lookups++, target(version)), 500, () => now);
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(1);
    version = 2;
    now = 499;
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(1);
    now = 500;
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(2);
    expect(lookups).toBe(2);
  });

  it("forgets a function on invalidate", async () => {
    let version = 1;
    const resolver = new CachedTargetResolver(async () => target(version), 60_000);
    await resolver.resolve("acme", "hello");
    version = 2;
    resolver.invalidate("acme", "hello");
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(2);
  });

  it("keeps tenants apart", async () => {
    const resolver = new CachedTargetResolver(async (t) => (t === "acme" ? target(1) : undefined), 60_000);
    expect(await resolver.resolve("acme", "hello")).toBeDefined();
    expect(await resolver.resolve("other", "hello")).toBeUndefined();
  });

  it("caches a branch preview apart from the live version, and forgets both on invalidate", async () => {
    let version = 1;
    const seen: Array<string | undefined> = [];
    const resolver = new CachedTargetResolver(async (_t, _f, branch) => (seen.push(branch), target(branch ? version + 10 : version)), 60_000);
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(1);
    expect((await resolver.resolve("acme", "hello", "feature-x"))?.version).toBe(11);
    version = 2;
    resolver.invalidate("acme", "hello");
    expect((await resolver.resolve("acme", "hello", "feature-x"))?.version).toBe(12);
    expect((await resolver.resolve("acme", "hello"))?.version).toBe(2);
    expect(seen).toEqual([undefined, "feature-x", "feature-x", undefined]);
  });
});
