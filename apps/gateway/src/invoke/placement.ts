import type { AgentMember, Membership } from "../control/membership.js";
import type { Fault } from "./node-fault.js";
import type { OutlierDetector } from "./outlier-detector.js";

/** Breaker keys: a whole node, and one function on one node. */
const nodeKey = (agentId: string) => agentId;
const functionKey = (agentId: string, functionId: string) => `${agentId}/${functionId}`;

/**
 * The agent for one invocation of `functionId`: a healthy one (membership)
 * whose circuit, and whose circuit for this function, is closed — or that
 * is due a probe, in which case this request is the probe. When every healthy
 * agent is ejected the breakers are ignored (Envoy calls it panic mode):
 * refusing everything would turn a partial failure into a total one, and with
 * a single node there is nowhere else to go. Undefined only with no healthy agent.
 */
export function pickAgent(membership: Membership, outliers: OutlierDetector, functionId: string): AgentMember | undefined {
  const healthy = membership.healthy();
  const skip = new Set<string>();
  for (const agent of healthy) {
    if (!outliers.isAvailable(nodeKey(agent.agentId)) || !outliers.isAvailable(functionKey(agent.agentId, functionId))) {
      skip.add(agent.agentId);
    }
  }
  if (skip.size === healthy.length) return membership.pick();
  for (;;) {
    const agent = membership.pick(skip);
    if (!agent) return membership.pick();
    // Takes the probe slot where the circuit is half-open; another request may have taken it first.
    if (outliers.admit(nodeKey(agent.agentId)) && outliers.admit(functionKey(agent.agentId, functionId))) return agent;
    skip.add(agent.agentId);
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
