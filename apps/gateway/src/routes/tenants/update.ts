import { createRoute, z } from "@hono/zod-openapi";
import { updateTenantQuotas } from "@isle/db";
import { IsleError } from "@isle/errors";
import { smallBody } from "../../middleware/body-size.js";
import { bearer, errors, jsonBody, jsonResponse, tenantParam, type ApiApp, type ApiDeps } from "../api.js";
import { requireTenant } from "../tenant-lookup.js";
import { tenantSchema, tenantView } from "./views.js";

// null puts a quota back to the platform default.
const quota = z.number().int().min(0).max(1_000_000).nullable().optional();
// A rate of 0 would refuse every invoke: suspending a tenant is not this setting's job.
const rate = z.number().int().min(1).max(1_000_000).nullable().optional();
// Hours, up to ten years (ISLE_RECORD_RETENTION's range); 0 keeps the records for ever.
const retention = z.number().int().min(0).max(87_600).nullable().optional();

export const updateTenantBody = z
  .strictObject({
    quotas: z.strictObject({
      maxFunctions: quota,
      maxReplicas: quota,
      maxConcurrency: quota,
      ratePerSecond: rate,
      rateBurst: rate,
      keyRatePerSecond: rate,
      keyRateBurst: rate,
      recordRetentionHours: retention,
    }),
  })
  .openapi("UpdateTenant");

export const route = createRoute({
  method: "patch",
  path: "/v1/tenants/{tenant}",
  tags: ["tenants"],
  summary: "Update a tenant's quotas, invoke rate limits and record retention (operator)",
  security: bearer,
  middleware: [smallBody] as const,
  request: { params: tenantParam, body: jsonBody(updateTenantBody) },
  responses: { 200: jsonResponse(tenantSchema, "The tenant as updated"), ...errors(413) },
});

/**
 * `PATCH /v1/tenants/:tenant` `{ quotas: { maxFunctions?, maxReplicas?, maxConcurrency?,
 * ratePerSecond?, rateBurst?, keyRatePerSecond?, keyRateBurst?, recordRetentionHours? } }`
 * (operator); `null` puts a field back to the platform default. Rate limits reach every gateway
 * within the target cache's time to live (500 ms); the retention, the next pass of the cleanup
 * job.
 */
export function register(app: ApiApp, { db }: ApiDeps): void {
  app.openapi(route, async (c) => {
    const tenant = await requireTenant(db, c.req.valid("param").tenant);
    const updated = await updateTenantQuotas(db, tenant.id, c.req.valid("json").quotas);
    if (!updated) throw new IsleError("not_found", "tenant not found");
    return c.json(tenantView(updated), 200);
  });
}
