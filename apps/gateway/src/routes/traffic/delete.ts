import { createRoute } from "@hono/zod-openapi";
import { setTrafficSplit } from "@isle/db";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { functionSchema, functionView, requireFunction } from "../functions/views.js";

export const route = createRoute({
  method: "delete",
  path: "/v1/tenants/{tenant}/functions/{function}/traffic",
  tags: ["deployments"],
  summary: "Remove the traffic split: every request goes to the active version (deploy)",
  security: bearer,
  request: { params: functionParams },
  responses: { 200: jsonResponse(functionSchema, "The function without a split"), ...errors() },
});

/** `DELETE /v1/tenants/:tenant/functions/:function/traffic` → 200 the function. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const updated = await setTrafficSplit(db, tenant.id, fn.id, null);
    resolver.invalidate(tenant.name, fn.name);
    return c.json(functionView(updated), 200);
  });
}
