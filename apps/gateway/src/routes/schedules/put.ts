import { createRoute } from "@hono/zod-openapi";
import { replaceSchedules } from "@isle/db";
import { maxBody } from "../../middleware/body-size.js";
import { bearer, errors, functionParams, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from "../api.js";
import { requireFunction } from "../functions/views.js";
import { checkScheduleIntervals, scheduleInputs } from "../../schedules/schedule-inputs.js";
import { putSchedulesBody, scheduleView, schedulesSchemaView } from "./views.js";

export const route = createRoute({
  method: "put",
  path: "/v1/tenants/{tenant}/functions/{function}/schedules",
  tags: ["schedules"],
  summary: "Replace a function's cron schedules (deploy); each tick enqueues one async invocation with trigger timer",
  description:
    "Schedules not in the list are deleted. A schedule whose cron, time zone and enabled flag are unchanged keeps its next run; " +
    "a new or changed one starts from now. A schedule may run at most once per the platform's minimum interval (a minute by default).",
  security: bearer,
  // Ten schedules with bodies of up to 64 KiB each, as JSON.
  middleware: [maxBody(1024 * 1024)] as const,
  request: { params: functionParams, body: jsonBody(putSchedulesBody) },
  responses: { 200: jsonResponse(schedulesSchemaView, "The schedules as stored, by name"), ...errors(413) },
});

/** `PUT /v1/tenants/:tenant/functions/:function/schedules` → 200 the stored set. */
export function register(app: ApiApp, { db, schedules: settings }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = c.get("tenant");
    const fn = await requireFunction(db, tenant, c.req.valid("param").function);
    const { schedules } = c.req.valid("json");
    checkScheduleIntervals(schedules, settings.minIntervalSeconds);
    const now = new Date();
    const stored = await replaceSchedules(
      db,
      tenant.id,
      fn.id,
      scheduleInputs(schedules, now),
    );
    return c.json({ schedules: stored.map(scheduleView) }, 200);
  });
}
