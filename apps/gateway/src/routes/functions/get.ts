import { createRoute } from "@hono/zod-openapi";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { functionSchema, functionView, requireFunction } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}",
  tags: ["functions"],
  summary: "Get a function (read)",
  security: bearer,
  request: { params: functionParams },
  responses: { 200: jsonResponse(functionSchema, "The function"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions/:function`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => c.json(functionView(await requireFunction(db, c.get("tenant"), c.req.valid("param").function)), 200));
}
