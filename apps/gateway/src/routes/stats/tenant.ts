import { createRoute, z } from "@hono/zod-openapi";
import { tenantActivity } from "@isle/db";
import { bearer, errors, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { hoursParam, windowEnding } from "./window.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/stats",
  tags: ["stats"],
  summary: "Requests and errors of each function over the last hours (read); a key restricted to one function sees only it",
  security: bearer,
  request: { params: tenantParam, query: z.strictObject({ hours: hoursParam }) },
  responses: {
    200: jsonResponse(
      z
        .object({
          from: z.string().openapi({ description: "Start of the window (ISO 8601)" }),
          to: z.string().openapi({ description: "End of the window, exclusive" }),
          functions: z
            .array(z.object({ name: z.string(), requests: z.number().int(), errors: z.number().int() }))
            .openapi({ description: "Every function of the tenant by name, idle ones with zeros" }),
        })
        .openapi("TenantStats"),
      "Each function's figures",
    ),
    ...errors(),
  },
});

/** `GET /v1/tenants/:tenant/stats?hours=`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const { from, to } = windowEnding(Date.now(), c.req.valid("query").hours);
    const principal = c.get("principal");
    const only = principal.kind === "key" ? principal.key.functionName : null;
    const functions = (await tenantActivity(db, c.get("tenant").id, from, to)).filter((fn) => only === null || fn.name === only);
    return c.json({ from: from.toISOString(), to: to.toISOString(), functions }, 200);
  });
}
