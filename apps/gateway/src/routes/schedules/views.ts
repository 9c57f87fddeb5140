import { z } from "@hono/zod-openapi";
import type { FunctionScheduleRow } from "@isle/db";
import { scheduleLimits, schedulesSchema } from "@isle/schedules";

/** `PUT …/schedules`: the function's whole set (the schema lives in @isle/schedules for the CLI and isle.json). */
export const putSchedulesBody = z
  .strictObject({
    // `.meta`, not `.openapi`: the shared schema may be built before zod-openapi extends zod.
    schedules: schedulesSchema.meta({ description: `The function's schedules, at most ${scheduleLimits.perFunction}; each tick enqueues one invocation` }),
  })
  .openapi("PutSchedules");

export const scheduleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    cron: z.string(),
    timezone: z.string(),
    method: z.string(),
    path: z.string(),
    headers: z.record(z.string(), z.string()),
    body: z.string().nullable(),
    enabled: z.boolean(),
    nextRunAt: z.string().nullable().openapi({ description: "The next tick; null while disabled" }),
    lastRunAt: z.string().nullable().openapi({ description: "The last tick enqueued" }),
    lastInvocationId: z.string().nullable().openapi({ description: "The last tick's invocation (see its record)" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Schedule");

export const schedulesSchemaView = z.object({ schedules: z.array(scheduleSchema) }).openapi("Schedules");

/** A schedule as the API shows it. */
export function scheduleView(row: FunctionScheduleRow): z.infer<typeof scheduleSchema> {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    method: row.method,
    path: row.path,
    headers: row.headers,
    body: row.body,
    enabled: row.enabled,
    nextRunAt: row.nextRunAt?.toISOString() ?? null,
    lastRunAt: row.lastRunAt?.toISOString() ?? null,
    lastInvocationId: row.lastInvocationId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
