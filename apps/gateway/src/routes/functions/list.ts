import { createRoute, z } from "@hono/zod-openapi";
import { listFunctions } from "@isle/db";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { functionSchema, functionView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions",
  tags: ["functions"],
  summary: "List functions (read); a key restricted to one function sees only it",
  security: bearer,
  request: { params: tenantParam },
  responses: { 200: jsonResponse(z.object({ functions: z.array(functionSchema) }), "The functions, by name"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    const only = principal.kind === "key" ? principal.key.functionName : null;
    const functions = (await listFunctions(db, c.get("tenant").id)).filter((fn) => only === null || fn.name === only);
    return c.json({ functions: functions.map(functionView) }, 200);
  });
}
