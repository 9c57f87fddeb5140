import { createRoute, z } from "@hono/zod-openapi";
import { listDeployments } from "@isle/db";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { deploymentSchema, deploymentView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/deployments",
  tags: ["deployments"],
  summary: "List a function's versions, newest first (read)",
  security: bearer,
  request: { params: functionParams },
  responses: { 200: jsonResponse(z.object({ deployments: z.array(deploymentSchema) }), "The versions"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions/:function/deployments`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const deployments = await listDeployments(db, tenant.id, fn.id);
    return c.json({ deployments: deployments.map((d) => deploymentView(d, fn)) }, 200);
  });
}
