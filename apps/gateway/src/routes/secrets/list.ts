import { createRoute, z } from "@hono/zod-openapi";
import { listFunctionSecretNames } from "@isle/db";
import { requireScope } from "../../middleware/api-auth.js";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";

const secretSchema = z.object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() }).openapi("Secret");

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/secrets",
  tags: ["secrets"],
  summary: "List a function's secret names (admin); never values",
  security: bearer,
  middleware: [requireScope("admin")] as const,
  request: { params: functionParams },
  responses: { 200: jsonResponse(z.object({ secrets: z.array(secretSchema) }), "Names and times, alphabetical"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions/:function/secrets`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const secrets = await listFunctionSecretNames(db, tenant.id, fn.id);
    return c.json(
      { secrets: secrets.map((s) => ({ name: s.name, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() })) },
      200,
    );
  });
}
