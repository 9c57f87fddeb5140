import { z } from "@hono/zod-openapi";
import type { AgentMember, Membership } from "../../control/membership.js";

export const agentSchema = z
  .object({
    id: z.string(),
    address: z.string().openapi({ description: "Where gateways reach the agent's sidecar" }),
    healthy: z.boolean().openapi({ description: "In placement: heartbeating, not draining, with a ready workerd process" }),
    draining: z.boolean(),
    capacity: z.number().int(),
    inFlight: z.number().int().openapi({ description: "Invocations running on the agent, as it last reported" }),
    workerdReady: z.number().int(),
    loadedFunctions: z.number().int(),
    lastSeenMsAgo: z.number().int(),
  })
  .openapi("Agent");

export function agentView(agent: AgentMember, healthy: boolean, now = Date.now()): z.infer<typeof agentSchema> {
  return {
    id: agent.agentId,
    address: agent.address,
    healthy,
    draining: agent.draining,
    capacity: agent.capacity,
    inFlight: agent.reportedInFlight,
    workerdReady: agent.workerdReady,
    loadedFunctions: agent.loaded.length,
    lastSeenMsAgo: Math.max(0, now - agent.lastSeenMs),
  };
}

export function agentViews(membership: Membership): Array<z.infer<typeof agentSchema>> {
  const healthy = new Set(membership.healthy().map((m) => m.agentId));
  return membership
    .all()
    .map((agent) => agentView(agent, healthy.has(agent.agentId)))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export const agentParam = z.object({ agent: z.string().min(1).max(253).openapi({ param: { name: "agent", in: "path" }, example: "agent-1" }) });
