import { createRoute } from "@hono/zod-openapi";
import { IsleError } from "@isle/errors";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { agentParam, agentSchema, agentView } from "./views.js";

function drainRoute(action: "drain" | "resume") {
  return createRoute({
    method: "post",
    path: `/v1/agents/{agent}/${action}`,
    tags: ["agents"],
    summary:
      action === "drain"
        ? "Take an agent out of placement; its running invocations finish (operator)"
        : "Put a drained agent back into placement (operator)",
    security: bearer,
    request: { params: agentParam },
    responses: { 202: jsonResponse(agentSchema, "The command is sent; every gateway sees the change at the agent's next heartbeat"), ...errors(404) },
  });
}

export const drain = drainRoute("drain");
export const resume = drainRoute("resume");

/**
 * `POST /v1/agents/:agent/drain` and `…/resume` (operator). The agent keeps
 * its own draining state and reports it to every gateway it heartbeats to, so
 * one command on any gateway moves it out of (or back into) placement
 * everywhere within a second; requests already running on it finish.
 */
export function register(app: ApiApp, { membership }: ApiDeps): void {
  for (const [route, resumeIt] of [
    [drain, false],
    [resume, true],
  ] as const) {
    app.openapi(route, (c) => {
      const { agent } = c.req.valid("param");
      const member = membership.get(agent);
      if (!member || !membership.send(agent, { command: { $case: "drain", value: { resume: resumeIt } } })) {
        throw new IsleError("not_found", "no such agent is connected to this gateway");
      }
      // Placement here stops at once; other gateways follow at the agent's next report.
      member.draining = !resumeIt;
      return c.json(agentView(member, !member.draining && membership.healthy().some((m) => m.agentId === agent)), 202);
    });
  }
}
