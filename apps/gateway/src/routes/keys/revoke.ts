import { createRoute, z } from "@hono/zod-openapi";
import { revokeApiKey } from "@isle/db";
import { IsleError } from "@isle/errors";
import { requireScope } from "../../middleware/api-auth.js";
import { bearer, errors, tenantParam, type ApiApp, type ApiDeps } from "../api.js";

export const route = createRoute({
  method: "delete",
  path: "/v1/tenants/{tenant}/keys/{id}",
  tags: ["keys"],
  summary: "Revoke an API key (admin); refused everywhere within a second",
  security: bearer,
  middleware: [requireScope("admin")] as const,
  request: { params: tenantParam.extend({ id: z.string().max(64).openapi({ param: { name: "id", in: "path" } }) }) },
  responses: { 204: { description: "Revoked" }, ...errors() },
});

/**
 * `DELETE /v1/tenants/:tenant/keys/:id` → 204. This gateway forgets the key at once; others
 * re-read it within their verifier's time to live (500 ms).
 */
export function register(app: ApiApp, { db, verifier }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await revokeApiKey(db, c.get("tenant").id, id))) throw new IsleError("not_found", "key not found");
    verifier.forget(id);
    return c.body(null, 204);
  });
}
