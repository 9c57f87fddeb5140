import { describe, expect, it } from "vitest";
import type { controlV1 } from "@isle/proto";
import { Membership } from "./membership.js";

function report(agentId: string, over: Partial<controlV1.AgentReport> = {}): controlV1.AgentReport {
  return {
    agentId,
    address: `10.0.0.1:${agentId.length}`,
    capacity: 100,
    inFlight: 0,
    loaded: [],
    sentAtUnixMs: 0,
    draining: false,
    workerdReady: 1,
    ...over,
  };
}

/** A healthy agent by two choices, as placement picks among a function's replicas. */
const pickHealthy = (members: Membership) => members.choose(members.healthy());

describe("Membership", () => {
  it("drops an agent from placement after three missed heartbeats", () => {
    let now = 0;
    const members = new Membership(1000, () => now);
    members.report(report("a"), {});
    now = 3000;
    expect(pickHealthy(members)?.agentId).toBe("a");
    now = 3001;
    expect(pickHealthy(members)).toBeUndefined();
  });

  it("never places on a draining agent or one with no ready runtime", () => {
    const members = new Membership();
    members.report(report("a", { draining: true }), {});
    members.report(report("b", { workerdReady: 0 }), {});
    expect(pickHealthy(members)).toBeUndefined();
  });

  it("ignores the end of a stream that a reconnect has replaced", () => {
    const members = new Membership();
    const old = {};
    const fresh = {};
    members.report(report("a"), old);
    members.report(report("a"), fresh);
    members.leave("a", old);
    expect(pickHealthy(members)?.agentId).toBe("a");
    members.leave("a", fresh);
    expect(pickHealthy(members)).toBeUndefined();
  });

  it("prefers the less loaded of two choices", () => {
    const members = new Membership(1000, Date.now, () => 0);
    members.report(report("busy", { inFlight: 90 }), {});
    members.report(report("idle", { inFlight: 1 }), {});
    for (let i = 0; i < 5; i++) expect(pickHealthy(members)?.agentId).toBe("idle");
  });

  it("counts a request out of the agent's load when it ends, also after reports came while it ran", () => {
    const members = new Membership(1000, Date.now, () => 0);
    const session = {};
    members.report(report("a"), session);
    members.report(report("b"), session);
    // A request placed on "a" holds the member it was placed on, as the invoker does.
    const placed = members.get("a")!;
    placed.localInFlight++;
    members.report(report("a", { inFlight: 1 }), session);
    members.report(report("a", { inFlight: 1 }), session);
    placed.localInFlight--;
    members.report(report("a", { inFlight: 0 }), session);
    expect(members.get("a")?.localInFlight).toBe(0);
    // Both idle again: ties go to the first choice, "a", instead of "a" counting as busy for ever.
    expect(pickHealthy(members)?.agentId).toBe("a");
    // A new stream (the agent reconnected) starts a fresh count.
    placed.localInFlight++;
    members.report(report("a"), {});
    expect(members.get("a")?.localInFlight).toBe(0);
  });
});
