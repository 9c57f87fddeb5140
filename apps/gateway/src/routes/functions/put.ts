import { createRoute } from "@hono/zod-openapi";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { functionSchema, functionSettingsSchema, functionView, saveFunction } from "./views.js";

export const route = createRoute({
  method: "put",
  path: "/v1/tenants/{tenant}/functions/{function}",
  tags: ["functions"],
  summary: "Create or update a function (deploy)",
  security: bearer,
  middleware: [smallBody] as const,
  request: {
    params: functionParams,
    body: { required: false, content: { "application/json": { schema: functionSettingsSchema } } },
  },
  responses: { 200: jsonResponse(functionSchema, "The function as stored"), ...errors(409, 413) },
});

/** `PUT /v1/tenants/:tenant/functions/:function` → 200 the function (created when missing, `private` by default). */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const { function: name } = c.req.valid("param");
    // An empty body is allowed (create with defaults); zod-openapi then skips the validator.
    const settings = (c.req.valid("json") as typeof functionSettingsSchema._output | undefined) ?? {};
    const fn = await saveFunction(db, tenant, name, settings);
    resolver.invalidate(tenant.name, fn.name);
    return c.json(functionView(fn), 200);
  });
}
