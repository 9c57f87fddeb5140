import { z } from "@hono/zod-openapi";
import type { Tenant } from "@isle/db";

export const quotasSchema = z
  .object({
    maxFunctions: z.number().int().optional(),
    maxReplicas: z.number().int().optional(),
    maxConcurrency: z.number().int().optional(),
    ratePerSecond: z.number().int().optional().openapi({ description: "Invokes per second across the tenant" }),
    rateBurst: z.number().int().optional().openapi({ description: "Invokes admitted at once from an idle tenant bucket" }),
    keyRatePerSecond: z.number().int().optional().openapi({ description: "Invokes per second for each API key" }),
    keyRateBurst: z.number().int().optional().openapi({ description: "Invokes admitted at once from an idle key bucket" }),
    recordRetentionHours: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Hours the tenant's invocation records are kept (0: for ever); absent: the platform's ISLE_RECORD_RETENTION" }),
  })
  .openapi("TenantQuotas");

export const tenantSchema = z
  .object({ id: z.string(), name: z.string(), quotas: quotasSchema, createdAt: z.string() })
  .openapi("Tenant");

/** A tenant as the API shows it. */
export function tenantView(t: Tenant) {
  return { id: t.id, name: t.name, quotas: t.quotas, createdAt: t.createdAt.toISOString() };
}
