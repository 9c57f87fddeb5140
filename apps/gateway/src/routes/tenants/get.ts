import { createRoute } from "@hono/zod-openapi";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { requireTenant } from "../tenant-lookup.js";
import { tenantSchema, tenantView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}",
  tags: ["tenants"],
  summary: "Get a tenant (operator)",
  security: bearer,
  request: { params: tenantParam },
  responses: { 200: jsonResponse(tenantSchema, "The tenant"), ...errors() },
});

/** `GET /v1/tenants/:tenant` (operator). */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => c.json(tenantView(await requireTenant(db, c.req.valid("param").tenant)), 200));
}
