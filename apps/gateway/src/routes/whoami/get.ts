import { createRoute, z } from "@hono/zod-openapi";
import { findTenantById } from "@isle/db";
import { unauthorized } from "../../middleware/api-auth.js";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";

/** Where the route lives; the one path outside /v1/tenants/… that a tenant key may call. */
export const whoamiPath = "/v1/whoami";

const whoamiSchema = z
  .object({
    kind: z.enum(["operator", "key"]),
    tenant: z.string().nullable().openapi({ description: "The name of the key's tenant; null for the operator" }),
    keyId: z.string().nullable(),
    scopes: z.array(z.string()),
    functionName: z.string().nullable().openapi({ description: "The one function a restricted key works for" }),
  })
  .openapi("Whoami");

export const route = createRoute({
  method: "get",
  path: whoamiPath,
  tags: ["keys"],
  summary: "Who the credential is: the operator, or a key with its tenant and scopes (any valid credential)",
  security: bearer,
  responses: { 200: jsonResponse(whoamiSchema, "The caller"), ...errors() },
});

/**
 * `GET /v1/whoami`: lets a client (the `isle` CLI) learn a key's tenant from the key alone.
 * It tells the caller only about its own credential, so it needs no scope.
 */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    if (principal.kind === "operator") return c.json({ kind: "operator" as const, tenant: null, keyId: null, scopes: ["admin"], functionName: null }, 200);
    const { key } = principal;
    // A key whose tenant was deleted a moment ago is as invalid as any other.
    const tenant = await findTenantById(db, key.tenantId);
    if (!tenant) throw unauthorized();
    return c.json({ kind: "key" as const, tenant: tenant.name, keyId: key.id, scopes: [...key.scopes], functionName: key.functionName }, 200);
  });
}
