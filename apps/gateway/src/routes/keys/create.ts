import { createRoute, z } from "@hono/zod-openapi";
import { createApiKey, newId } from "@isle/db";
import { IsleError } from "@isle/errors";
import { mintApiKey, scopes } from "../../auth/api-keys.js";
import { requireScope } from "../../middleware/api-auth.js";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, jsonBody, jsonResponse, name, tenantParam, type ApiApp, type ApiDeps } from "../api.js";

export const createKeyBody = z
  .strictObject({
    name: z.string().min(1).max(100),
    scopes: z.array(z.enum(scopes as [string, ...string[]])).min(1).max(4),
    functionName: name.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi("CreateApiKey");

export const route = createRoute({
  method: "post",
  path: "/v1/tenants/{tenant}/keys",
  tags: ["keys"],
  summary: "Create an API key (admin); the only time its secret is shown",
  security: bearer,
  middleware: [requireScope("admin"), smallBody] as const,
  request: { params: tenantParam, body: jsonBody(createKeyBody) },
  responses: {
    201: jsonResponse(z.object({ id: z.string(), key: z.string() }).openapi("NewApiKey"), "The key id and the full key"),
    ...errors(413),
  },
});

/** `POST /v1/tenants/:tenant/keys` → 201 `{ id, key }`. Only the secret's SHA-256 is stored. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const body = c.req.valid("json");
    const expiresAt = body.expiresAt === undefined ? null : new Date(body.expiresAt);
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw new IsleError("validation_failed", "expiresAt: must be in the future");
    const id = newId("key");
    const { key, secretHash } = mintApiKey(id);
    await createApiKey(db, {
      id,
      tenantId: tenant.id,
      name: body.name,
      secretHash,
      scopes: [...new Set(body.scopes)] as Array<(typeof scopes)[number]>,
      functionName: body.functionName ?? null,
      expiresAt,
    });
    return c.json({ id, key }, 201);
  });
}
