import { createRoute, z } from "@hono/zod-openapi";
import { listTenants } from "@isle/db";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { tenantSchema, tenantView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants",
  tags: ["tenants"],
  summary: "List tenants (operator)",
  security: bearer,
  responses: { 200: jsonResponse(z.object({ tenants: z.array(tenantSchema) }), "Every tenant, by name"), ...errors() },
});

/** `GET /v1/tenants` (operator). */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => c.json({ tenants: (await listTenants(db)).map(tenantView) }, 200));
}
