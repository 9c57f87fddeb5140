import { createRoute } from "@hono/zod-openapi";
import { findDeployment } from "@isle/db";
import { IsleError } from "@isle/errors";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { deploymentParams, deploymentSchema, deploymentView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/deployments/{id}",
  tags: ["deployments"],
  summary: "Get one version (read)",
  security: bearer,
  request: { params: deploymentParams },
  responses: { 200: jsonResponse(deploymentSchema, "The version"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions/:function/deployments/:id`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: name, id } = c.req.valid("param");
    const fn = await requireFunction(db, tenant, name);
    const deployment = await findDeployment(db, tenant.id, fn.id, id);
    if (!deployment) throw new IsleError("not_found", "deployment not found");
    return c.json(deploymentView(deployment, fn), 200);
  });
}
