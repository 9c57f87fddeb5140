import { createRoute, z } from "@hono/zod-openapi";
import { createTenant } from "@isle/db";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, jsonBody, jsonResponse, name, type ApiApp, type ApiDeps } from "../api.js";

export const createTenantBody = z.strictObject({ name }).openapi("CreateTenant");

export const route = createRoute({
  method: "post",
  path: "/v1/tenants",
  tags: ["tenants"],
  summary: "Create a tenant (operator)",
  security: bearer,
  middleware: [smallBody] as const,
  request: { body: jsonBody(createTenantBody) },
  responses: {
    201: jsonResponse(z.object({ id: z.string(), name: z.string() }), "The new tenant"),
    ...errors(409, 413),
  },
});

/** `POST /v1/tenants` (operator) → 201 `{ id, name }`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = await createTenant(db, c.req.valid("json").name);
    return c.json({ id: tenant.id, name: tenant.name }, 201);
  });
}
