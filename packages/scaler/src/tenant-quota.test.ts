import { describe, expect, it } from "vitest";
import { capToTenantQuota, type ReplicaClaim } from "./tenant-quota.js";

const claim = (functionId: string, replicas: number, targetConcurrency = 10): ReplicaClaim => ({ functionId, replicas, targetConcurrency });
const replicasOf = (grants: Array<{ functionId: string; replicas: number }>) => Object.fromEntries(grants.map((g) => [g.functionId, g.replicas]));

describe("capToTenantQuota", () => {
  it("grants claims that fit, whole", () => {
    expect(capToTenantQuota({ maxReplicas: 10, maxConcurrency: 100 }, [claim("a", 4), claim("b", 6)])).toEqual([
      { functionId: "a", replicas: 4, capped: false },
      { functionId: "b", replicas: 6, capped: false },
    ]);
  });

  it("shares the quota in proportion to demand (8 : 2 of 6 → 5 : 1)", () => {
    expect(capToTenantQuota({ maxReplicas: 6 }, [claim("a", 8), claim("b", 2)])).toEqual([
      { functionId: "a", replicas: 5, capped: true },
      { functionId: "b", replicas: 1, capped: true },
    ]);
    expect(replicasOf(capToTenantQuota({ maxReplicas: 12 }, [claim("a", 12), claim("b", 6), claim("c", 6)]))).toEqual({ a: 6, b: 3, c: 3 });
  });

  it("gives every function with demand one replica before any gets a second", () => {
    expect(replicasOf(capToTenantQuota({ maxReplicas: 10 }, [claim("a", 30), claim("b", 3), claim("c", 1), claim("idle", 0)]))).toEqual({ a: 8, b: 1, c: 1, idle: 0 });
  });

  it("when even one each does not fit, serves the largest claims first, then by id", () => {
    expect(replicasOf(capToTenantQuota({ maxReplicas: 2 }, [claim("c", 1), claim("b", 1), claim("a", 5)]))).toEqual({ a: 1, b: 1, c: 0 });
    expect(replicasOf(capToTenantQuota({ maxReplicas: 0 }, [claim("a", 5)]))).toEqual({ a: 0 });
  });

  it("gives the same grants whatever the order of the claims", () => {
    const claims = [claim("a", 3), claim("b", 3), claim("c", 2)];
    const expected = { a: 2, b: 1, c: 1 };
    expect(replicasOf(capToTenantQuota({ maxReplicas: 4 }, claims))).toEqual(expected);
    expect(replicasOf(capToTenantQuota({ maxReplicas: 4 }, [...claims].reverse()))).toEqual(expected);
    expect(capToTenantQuota({ maxReplicas: 4 }, [...claims].reverse()).map((g) => g.functionId)).toEqual(["c", "b", "a"]);
  });

  it("keeps Σ replicas × targetConcurrency within maxConcurrency, skipping replicas that do not fit", () => {
    // a: 8 × 10, b: 2 × 50 = 180 in all; 100 allowed: one each (60), then a's until the budget is spent.
    const grants = capToTenantQuota({ maxReplicas: 100, maxConcurrency: 100 }, [claim("a", 8, 10), claim("b", 2, 50)]);
    expect(replicasOf(grants)).toEqual({ a: 5, b: 1 });
    // A function whose one replica exceeds what is left gets none.
    expect(replicasOf(capToTenantQuota({ maxReplicas: 10, maxConcurrency: 30 }, [claim("a", 2, 20), claim("b", 1, 20)]))).toEqual({ a: 1, b: 0 });
  });

  it("never grants more than the quota nor more than a claim", () => {
    for (let max = 0; max <= 20; max++) {
      const claims = [claim("a", 7), claim("b", 5, 3), claim("c", 1), claim("d", 0)];
      const grants = capToTenantQuota({ maxReplicas: max, maxConcurrency: 90 }, claims);
      expect(grants.reduce((sum, g) => sum + g.replicas, 0)).toBeLessThanOrEqual(max);
      expect(grants.reduce((sum, g, i) => sum + g.replicas * claims[i]!.targetConcurrency, 0)).toBeLessThanOrEqual(90);
      grants.forEach((g, i) => expect(g.replicas).toBeLessThanOrEqual(claims[i]!.replicas));
    }
  });
});
