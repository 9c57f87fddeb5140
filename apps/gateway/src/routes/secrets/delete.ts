import { createRoute } from "@hono/zod-openapi";
import { deleteFunctionSecret } from "@isle/db";
import { IsleError } from "@isle/errors";
import { requireScope } from "../../middleware/api-auth.js";
import { bearer, errors, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { secretParams } from "./params.js";

export const route = createRoute({
  method: "delete",
  path: "/v1/tenants/{tenant}/functions/{function}/secrets/{name}",
  tags: ["secrets"],
  summary: "Delete a secret (admin)",
  security: bearer,
  middleware: [requireScope("admin")] as const,
  request: { params: secretParams },
  responses: { 204: { description: "Deleted" }, ...errors() },
});

/** `DELETE /v1/tenants/:tenant/functions/:function/secrets/:name` → 204. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: fnName, name } = c.req.valid("param");
    const fn = await requireFunction(db, tenant, fnName);
    if (!(await deleteFunctionSecret(db, tenant.id, fn.id, name))) throw new IsleError("not_found", "secret not found");
    resolver.invalidate(tenant.name, fn.name);
    return c.body(null, 204);
  });
}
