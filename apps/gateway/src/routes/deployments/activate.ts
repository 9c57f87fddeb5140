import { createRoute } from "@hono/zod-openapi";
import { activateDeployment, findDeployment } from "@isle/db";
import { IsleError } from "@isle/errors";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { deploymentParams, deploymentSchema, deploymentView } from "./views.js";

export const route = createRoute({
  method: "post",
  path: "/v1/tenants/{tenant}/functions/{function}/deployments/{id}/activate",
  tags: ["deployments"],
  summary: "Make a version the active one: rollback or roll forward (deploy)",
  security: bearer,
  request: { params: deploymentParams },
  responses: { 200: jsonResponse(deploymentSchema, "The version, now active"), ...errors(409) },
});

/** `POST …/deployments/:id/activate` → 200 the deployment, active. Moves the pointer only: no rebuild. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: name, id } = c.req.valid("param");
    const fn = await requireFunction(db, tenant, name);
    const updated = await activateDeployment(db, tenant.id, fn.id, id);
    resolver.invalidate(tenant.name, fn.name);
    const deployment = await findDeployment(db, tenant.id, fn.id, id);
    if (!deployment) throw new IsleError("not_found", "deployment not found");
    return c.json(deploymentView(deployment, updated), 200);
  });
}
