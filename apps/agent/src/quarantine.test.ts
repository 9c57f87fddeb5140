import { describe, expect, it } from "vitest";
import { Quarantine, deploymentOfIsolate } from "./quarantine.js";

describe("Quarantine", () => {
  it("quarantines a deployment at its third strike, and only that deployment", () => {
    const q = new Quarantine(3);
    expect(q.strike("t1", "dep_1")).toBe(false);
    expect(q.strike("t1", "dep_1")).toBe(false);
    expect(q.isQuarantined("t1", "dep_1")).toBe(false);
    expect(q.strike("t1", "dep_1")).toBe(true);
    expect(q.isQuarantined("t1", "dep_1")).toBe(true);
    expect(q.isQuarantined("t1", "dep_2")).toBe(false);
    expect(q.isQuarantined("t2", "dep_1")).toBe(false);
  });

  it("reads the deployment of an isolate id", () => {
    expect(deploymentOfIsolate("ten_1:dep_1:abc:v1")).toEqual({ tenantId: "ten_1", deploymentId: "dep_1" });
    expect(deploymentOfIsolate("broken")).toBeUndefined();
  });
});
