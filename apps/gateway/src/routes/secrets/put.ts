import { createRoute, z } from "@hono/zod-openapi";
import { putFunctionSecret } from "@isle/db";
import { IsleError } from "@isle/errors";
import { requireScope } from "../../middleware/api-auth.js";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { secretParams } from "./params.js";

export const route = createRoute({
  method: "put",
  path: "/v1/tenants/{tenant}/functions/{function}/secrets/{name}",
  tags: ["secrets"],
  summary: "Set a secret (admin); the raw body is the value, never shown again",
  security: bearer,
  middleware: [requireScope("admin"), smallBody] as const,
  request: {
    params: secretParams,
    // Not JSON: the body is the value as is, so no validator reads it.
    body: { required: true, content: { "text/plain": { schema: z.string() }, "application/octet-stream": { schema: z.string() } } },
  },
  responses: {
    200: jsonResponse(z.object({ name: z.string(), created: z.boolean() }), "Stored, sealed; `created` is false when it replaced a value"),
    ...errors(413),
  },
});

/** `PUT /v1/tenants/:tenant/functions/:function/secrets/:name`: sealed with AES-256-GCM before storing. */
export function register(app: ApiApp, { db, secretBox, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: fnName, name } = c.req.valid("param");
    const fn = await requireFunction(db, tenant, fnName);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength === 0) throw new IsleError("validation_failed", "the secret's value (the body) is empty");
    let value: string;
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new IsleError("validation_failed", "the secret's value must be UTF-8 text");
    }
    const created = await putFunctionSecret(db, tenant.id, fn.id, name, secretBox.seal(value));
    // The env version changed: the next invoke here must pick the new isolate.
    resolver.invalidate(tenant.name, fn.name);
    return c.json({ name, created }, 200);
  });
}
