import { createRoute } from "@hono/zod-openapi";
import { listSchedules } from "@isle/db";
import { bearer, errors, functionParams, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { scheduleView, schedulesSchemaView } from "./views.js";

export const route = createRoute({
  method: "get",
  path: "/v1/tenants/{tenant}/functions/{function}/schedules",
  tags: ["schedules"],
  summary: "A function's cron schedules, with their next run (read)",
  security: bearer,
  request: { params: functionParams },
  responses: { 200: jsonResponse(schedulesSchemaView, "The schedules, by name"), ...errors() },
});

/** `GET /v1/tenants/:tenant/functions/:function/schedules`. */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    return c.json({ schedules: (await listSchedules(db, tenant.id, fn.id)).map(scheduleView) }, 200);
  });
}
