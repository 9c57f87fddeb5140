import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { agentSchema, agentViews } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/agents",
  tags: ["agents"],
  summary: "List the agent nodes connected to this gateway, with their load (operator)",
  security: bearer,
  responses: { 200: jsonResponse(z.object({ agents: z.array(agentSchema) }), "Every connected agent, by id"), ...errors() },
});

/** `GET /v1/agents` (operator). */
export function register(app: ApiApp, { membership }: ApiDeps): void {
  app.openapi(route, (c) => c.json({ agents: agentViews(membership) }, 200));
}
