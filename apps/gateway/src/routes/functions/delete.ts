import { createRoute } from "@hono/zod-openapi";
import { deleteFunction } from "@isle/db";
import { IsleError } from "@isle/errors";
import { bearer, errors, functionParams, type ApiApp, type ApiDeps } from "../api.js";

export const route = createRoute({
  method: "delete",
  path: "/v1/tenants/{tenant}/functions/{function}",
  tags: ["functions"],
  summary: "Delete a function with its deployments and secrets (deploy)",
  security: bearer,
  request: { params: functionParams },
  responses: { 204: { description: "Deleted" }, ...errors() },
});

/** `DELETE /v1/tenants/:tenant/functions/:function` → 204. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: name } = c.req.valid("param");
    if (!(await deleteFunction(db, tenant.id, name))) throw new IsleError("not_found", "function not found");
    resolver.invalidate(tenant.name, name);
    return c.body(null, 204);
  });
}
