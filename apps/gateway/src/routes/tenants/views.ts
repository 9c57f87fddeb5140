import { z } from "@hono/zod-openapi";
import type { Tenant } from "@isle/db";

export const quotasSchema = z
  .object({
    maxFunctions: z.number().int().optional(),
    maxReplicas: z.number().int().optional(),
    maxConcurrency: z.number().int().optional(),
  })
  .openapi("TenantQuotas");

export const tenantSchema = z
  .object({ id: z.string(), name: z.string(), quotas: quotasSchema, createdAt: z.string() })
  .openapi("Tenant");

/** A tenant as the API shows it. */
export function tenantView(t: Tenant) {
  return { id: t.id, name: t.name, quotas: t.quotas, createdAt: t.createdAt.toISOString() };
}
