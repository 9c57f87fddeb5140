import { createRoute, z } from "@hono/zod-openapi";
import { setTrafficSplit } from "@isle/db";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, functionParams, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { functionSchema, functionView, requireFunction } from "../functions/views.js";

export const trafficBody = z
  .strictObject({
    deploymentId: z.string().min(1).max(64),
    percent: z.number().int().min(1, "between 1 and 99").max(99, "between 1 and 99"),
  })
  .openapi("TrafficSplit");

export const route = createRoute({
  method: "put",
  path: "/v1/tenants/{tenant}/functions/{function}/traffic",
  tags: ["deployments"],
  summary: "Split traffic: `percent` of requests go to `deploymentId`, the rest to the active version (deploy)",
  security: bearer,
  middleware: [smallBody] as const,
  request: { params: functionParams, body: jsonBody(trafficBody) },
  responses: { 200: jsonResponse(functionSchema, "The function with its split"), ...errors(409, 413) },
});

/** `PUT /v1/tenants/:tenant/functions/:function/traffic` `{ deploymentId, percent }` → 200 the function. */
export function register(app: ApiApp, { db, resolver }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const updated = await setTrafficSplit(db, tenant.id, fn.id, c.req.valid("json"));
    resolver.invalidate(tenant.name, fn.name);
    return c.json(functionView(updated), 200);
  });
}
