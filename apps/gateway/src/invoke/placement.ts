import type { AgentMember, Membership } from "../control/membership.js";
import { rankByRendezvous } from "../scaling/rendezvous.js";
import type { Fault } from "./node-fault.js";
import type { OutlierDetector } from "./outlier-detector.js";

/** Breaker keys: a whole node, and one function on one node. */
const nodeKey = (agentId: string) => agentId;
const functionKey = (agentId: string, functionId: string) => `${agentId}/${functionId}`;

/** Which function a request is for, on how many replicas, and which agents it must not go to (an earlier try). */
export interface PlacementRequest {
  functionId: string;
  /** The scaler's count; below 1 means one (the request activates the function). */
  replicas: number;
  exclude?: ReadonlySet<string>;
}

/**
 * The agent for one invocation (DESIGN.md §8). The function's replicas are
 * its first `replicas` agents in rendezvous order among the healthy ones
 * whose circuits — the node's, and the function's on that node — are closed
 * or due a probe; of those, the less loaded of two random ones (if it is
 * due a probe, this request is the probe). An ejected replica's place goes
 * to the next agent in order, so every gateway still agrees on the set.
 * When every candidate is ejected the breakers are ignored (Envoy calls it
 * panic mode): refusing everything would turn a partial failure into a
 * total one. Undefined only when no healthy agent is left to try.
 */
export function pickAgent(membership: Membership, outliers: OutlierDetector, request: PlacementRequest): AgentMember | undefined {
  const { functionId, exclude } = request;
  const size = Math.max(1, request.replicas);
  const healthy = membership.healthy().filter((m) => !exclude?.has(m.agentId));
  const ranked = rankByRendezvous(functionId, healthy, (m) => m.agentId);
  const available = (m: AgentMember) => outliers.isAvailable(nodeKey(m.agentId)) && outliers.isAvailable(functionKey(m.agentId, functionId));
  const open = ranked.filter(available);
  if (open.length === 0) return membership.choose(ranked.slice(0, size));
  const replicas = open.slice(0, size);
  for (;;) {
    const agent = membership.choose(replicas);
    if (!agent) return membership.choose(ranked.slice(0, size));
    // Takes the probe slot where the circuit is half-open; another request may have taken it first.
    if (outliers.admit(nodeKey(agent.agentId)) && outliers.admit(functionKey(agent.agentId, functionId))) return agent;
    replicas.splice(replicas.indexOf(agent), 1);
  }
}

/** Tells the breakers how an invocation on `agentId` ended. */
export function reportOutcome(outliers: OutlierDetector, agentId: string, functionId: string, fault: Fault | undefined): void {
  if (fault === "node") return outliers.failure(nodeKey(agentId));
  if (fault === "function-on-node") {
    // The node itself answered: only this function fails there.
    outliers.success(nodeKey(agentId));
    return outliers.failure(functionKey(agentId, functionId));
  }
  outliers.success(nodeKey(agentId));
  outliers.success(functionKey(agentId, functionId));
}
