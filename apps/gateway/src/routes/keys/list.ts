import { createRoute, z } from "@hono/zod-openapi";
import { listApiKeys } from "@isle/db";
import { requireScope } from "../../middleware/api-auth.js";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";

const keySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    functionName: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("ApiKey");

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/keys",
  tags: ["keys"],
  summary: "List the tenant's API keys (admin); never secrets or hashes",
  security: bearer,
  middleware: [requireScope("admin")] as const,
  request: { params: tenantParam },
  responses: { 200: jsonResponse(z.object({ keys: z.array(keySchema) }), "The keys, newest first"), ...errors() },
});

/** `GET /v1/tenants/:tenant/keys`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const keys = await listApiKeys(db, c.get("tenant").id);
    return c.json(
      {
        keys: keys.map((k) => ({
          id: k.id,
          name: k.name,
          scopes: k.scopes,
          functionName: k.functionName,
          expiresAt: k.expiresAt?.toISOString() ?? null,
          revokedAt: k.revokedAt?.toISOString() ?? null,
          createdAt: k.createdAt.toISOString(),
        })),
      },
      200,
    );
  });
}
