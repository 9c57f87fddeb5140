import { describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { Membership } from "../control/membership.js";
import { faultOf, nodeFault } from "./node-fault.js";
import { OutlierDetector } from "./outlier-detector.js";
import { pickAgent, reportOutcome } from "./placement.js";

function cluster() {
  let now = 0;
  const membership = new Membership(1000, () => now);
  for (const agentId of ["a1", "a2"]) {
    membership.report({ agentId, address: `${agentId}:7443`, capacity: 10, inFlight: 0, draining: false, workerdReady: 2 } as never, {});
  }
  const outliers = new OutlierDetector({ failures: 2, baseEjectMs: 1000, now: () => now });
  return { membership, outliers, advance: (ms: number) => (now += ms) };
}

describe("pickAgent with outlier ejection", () => {
  it("stops sending to a node whose invocations keep failing as its own fault, and probes it back", () => {
    const { membership, outliers, advance } = cluster();
    reportOutcome(outliers, "a1", "fn", "node");
    reportOutcome(outliers, "a1", "fn", "node");
    for (let i = 0; i < 20; i++) expect(pickAgent(membership, outliers, { functionId: "fn", replicas: 2 })?.agentId).toBe("a2");
    advance(1000);
    // The cool-down is over: exactly one request probes a1.
    const picks = Array.from({ length: 20 }, () => pickAgent(membership, outliers, { functionId: "fn", replicas: 2 })?.agentId);
    expect(picks.filter((id) => id === "a1")).toHaveLength(1);
    reportOutcome(outliers, "a1", "fn", undefined);
    const after = Array.from({ length: 40 }, () => pickAgent(membership, outliers, { functionId: "fn", replicas: 2 })?.agentId);
    expect(after).toContain("a1");
  });

  it("ejects a function on a node without ejecting the node, and never for the function's own failures", () => {
    const { membership, outliers } = cluster();
    reportOutcome(outliers, "a1", "broken", "function-on-node");
    reportOutcome(outliers, "a1", "broken", "function-on-node");
    for (let i = 0; i < 10; i++) expect(pickAgent(membership, outliers, { functionId: "broken", replicas: 2 })?.agentId).toBe("a2");
    expect(Array.from({ length: 40 }, () => pickAgent(membership, outliers, { functionId: "other", replicas: 2 })?.agentId)).toContain("a1");
    // A function that throws or spins reports no fault: nothing is ejected.
    for (let i = 0; i < 10; i++) reportOutcome(outliers, "a2", "spins", undefined);
    expect(outliers.ejected()).toEqual(["a1/broken"]);
  });

  it("ignores the breakers when every healthy node is ejected, rather than refuse everything", () => {
    const { membership, outliers } = cluster();
    for (const agentId of ["a1", "a2"]) for (let i = 0; i < 2; i++) reportOutcome(outliers, agentId, "fn", "node");
    expect(["a1", "a2"]).toContain(pickAgent(membership, outliers, { functionId: "fn", replicas: 2 })?.agentId);
    expect(pickAgent(new Membership(), outliers, { functionId: "fn", replicas: 2 })).toBeUndefined();
  });
});

describe("pickAgent over a function's replicas", () => {
  function three() {
    const membership = new Membership(1000, () => 0);
    for (const agentId of ["a1", "a2", "a3"]) {
      membership.report({ agentId, address: `${agentId}:7443`, capacity: 10, inFlight: 0, draining: false, workerdReady: 2 } as never, {});
    }
    return { membership, outliers: new OutlierDetector({ failures: 2, baseEjectMs: 1000, now: () => 0 }) };
  }
  const picks = (pick: () => string | undefined, n = 200) => new Set(Array.from({ length: n }, pick));

  it("sends a function's requests to its first N agents in rendezvous order only", () => {
    const { membership, outliers } = three();
    const one = picks(() => pickAgent(membership, outliers, { functionId: "fn_x", replicas: 1 })?.agentId);
    expect(one.size).toBe(1);
    const two = picks(() => pickAgent(membership, outliers, { functionId: "fn_x", replicas: 2 })?.agentId);
    expect(two.size).toBe(2);
    expect(two).toContain([...one][0]);
    expect(picks(() => pickAgent(membership, outliers, { functionId: "fn_x", replicas: 3 })?.agentId).size).toBe(3);
    // Zero replicas (a function being activated) places like one.
    expect(picks(() => pickAgent(membership, outliers, { functionId: "fn_x", replicas: 0 })?.agentId)).toEqual(one);
  });

  it("replaces an ejected or excluded replica with the next agent in order, not with a random one", () => {
    const { membership, outliers } = three();
    const first = pickAgent(membership, outliers, { functionId: "fn_y", replicas: 1 })!.agentId;
    const retry = picks(() => pickAgent(membership, outliers, { functionId: "fn_y", replicas: 1, exclude: new Set([first]) })?.agentId);
    expect(retry.size).toBe(1);
    expect(retry).not.toContain(first);
    for (let i = 0; i < 2; i++) reportOutcome(outliers, first, "fn_y", "node");
    expect(picks(() => pickAgent(membership, outliers, { functionId: "fn_y", replicas: 1 })?.agentId)).toEqual(retry);
  });
});

describe("faultOf", () => {
  it("blames the node for broken streams and for what the agent says it cannot serve, never for the function's failures", () => {
    expect(faultOf(nodeFault(new IsleError("upstream_failed", "stream broke")), false)).toBe("node");
    expect(faultOf(new IsleError("unavailable", "draining"), true)).toBe("node");
    expect(faultOf(new IsleError("upstream_failed", "workerd died"), true)).toBe("function-on-node");
    for (const code of ["function_error", "cpu_limit", "memory_limit", "timeout", "payload_too_large"] as const) {
      expect(faultOf(new IsleError(code, "x"), true)).toBeUndefined();
    }
    // The client going away is nobody's fault.
    expect(faultOf(new IsleError("upstream_failed", "the client went away"), false)).toBeUndefined();
  });
});
