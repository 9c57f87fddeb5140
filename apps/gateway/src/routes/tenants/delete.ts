import { createRoute } from "@hono/zod-openapi";
import { deleteTenant, listFunctions } from "@isle/db";
import { bearer, errors, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { requireTenant } from "../tenant-lookup.js";

export const route = createRoute({
  method: "delete",
  path: "/v1/tenants/{tenant}",
  tags: ["tenants"],
  summary: "Delete a tenant with its functions, deployments, keys, secrets and records (operator)",
  security: bearer,
  request: { params: tenantParam },
  responses: { 204: { description: "Deleted" }, ...errors() },
});

/** `DELETE /v1/tenants/:tenant` (operator) → 204; everything the tenant owns goes with it. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = await requireTenant(db, c.req.valid("param").tenant);
    const functions = await listFunctions(db, tenant.id);
    await deleteTenant(db, tenant.id);
    // Other gateways notice within the resolver's time to live; this one at once.
    for (const fn of functions) resolver.invalidate(tenant.name, fn.name);
    return c.body(null, 204);
  });
}
