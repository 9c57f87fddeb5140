import { createRoute, z } from "@hono/zod-openapi";
import { functionStats } from "@isle/db";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { bucketedWindow, figuresSchema, figuresView, hoursParam } from "./window.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/stats",
  tags: ["stats"],
  summary: "A function's requests, errors and latency over the last hours, in total and per bucket (read)",
  security: bearer,
  request: {
    params: functionParams,
    query: z.strictObject({
      hours: hoursParam,
      buckets: z.coerce
        .number()
        .int()
        .min(1)
        .max(168)
        .optional()
        .openapi({ param: { name: "buckets", in: "query" }, description: "How many equal buckets, 1–168; default one per hour" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          from: z.string().openapi({ description: "Start of the window (ISO 8601), the first bucket's start" }),
          to: z.string().openapi({ description: "End of the window, exclusive" }),
          bucketSeconds: z.number().int(),
          totals: figuresSchema,
          buckets: z.array(figuresSchema.extend({ start: z.string() })).openapi({ description: "Every bucket, oldest first, empty ones included" }),
        })
        .openapi("FunctionStats"),
      "The function's figures",
    ),
    ...errors(),
  },
});

/** `GET /v1/tenants/:tenant/functions/:function/stats?hours=&buckets=`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const fn = await requireFunction(db, c.get("tenant"), c.req.valid("param").function);
    const { hours, buckets } = c.req.valid("query");
    const window = bucketedWindow(Date.now(), hours, buckets ?? hours);
    const stats = await functionStats(db, fn.tenantId, fn.id, window);
    return c.json(
      {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        bucketSeconds: window.bucketSeconds,
        totals: figuresView(stats.totals),
        buckets: stats.buckets.map((b) => ({ start: b.start.toISOString(), ...figuresView(b) })),
      },
      200,
    );
  });
}
