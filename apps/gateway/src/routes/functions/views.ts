import { z } from "@hono/zod-openapi";
import { countFunctions, findFunction, upsertFunction, type FunctionRow, type FunctionSettings, type IsleDb, type Tenant } from "@isle/db";
import { IsleError } from "@isle/errors";
import { maxRequestBytesCeiling } from "../../invoke/limits.js";

/** A function's limits as PUT and the repository's config (isle.json / isle.toml) accept them. */
export const limitsSchema = z.strictObject({
  timeoutMs: z.number().int().min(100).max(15 * 60_000).optional(),
  cpuMs: z.number().int().min(1).max(15 * 60_000).optional(),
  memoryMb: z.number().int().min(16).max(8192).optional(),
  maxRequestBytes: z
    .number()
    .int()
    .min(1)
    .max(maxRequestBytesCeiling)
    .optional()
    .openapi({ description: "Request body cap in bytes (default 100 MiB); a larger body is refused with 413." }),
  maxResponseBytes: z
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: "Response body cap in bytes; 0 (the default) for none. Past it the response fails (502 or an aborted body)." }),
  subrequests: z.number().int().min(0).max(10_000).optional(),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .openapi({ description: "Invocations running at once on each node; more are refused with 429. Default: no cap." }),
});

/** A function's scale settings as PUT and the repository's config accept them. */
export const scaleSchema = z.strictObject({
  min: z.number().int().min(0).max(1000).optional(),
  max: z.number().int().min(0).max(1000).optional(),
  targetConcurrency: z.number().int().min(1).max(10_000).optional(),
  idleSeconds: z.number().int().min(0).max(86_400).optional(),
});

/** The settable parts of a function (DESIGN.md §4); absent fields keep their value. */
export const functionSettingsSchema = z
  .strictObject({
    runtime: z.enum(["workerd", "container"]).optional(),
    visibility: z.enum(["private", "public"]).optional(),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env names are identifiers").max(128), z.string().max(32 * 1024))
      .optional(),
    limits: limitsSchema.optional(),
    scale: scaleSchema.optional(),
  })
  .openapi("FunctionSettings");

export const functionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    runtime: z.enum(["workerd", "container"]),
    visibility: z.enum(["private", "public"]),
    env: z.record(z.string(), z.string()),
    limits: limitsSchema,
    scale: scaleSchema,
    activeDeploymentId: z.string().nullable(),
    traffic: z.object({ deploymentId: z.string(), percent: z.number().int() }).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Function");

/** A function as the API shows it (env vars are settings, not secrets: shown). */
export function functionView(fn: FunctionRow) {
  return {
    id: fn.id,
    name: fn.name,
    runtime: fn.runtime,
    visibility: fn.visibility,
    env: fn.env,
    limits: fn.limits,
    scale: fn.scale,
    activeDeploymentId: fn.activeDeploymentId,
    traffic: fn.traffic ?? null,
    createdAt: fn.createdAt.toISOString(),
    updatedAt: fn.updatedAt.toISOString(),
  };
}

/** The tenant's function, or the same 404 whether it is missing or someone else's. */
export async function requireFunction(db: IsleDb, tenant: Tenant, name: string): Promise<FunctionRow> {
  const fn = await findFunction(db, tenant.id, name);
  if (!fn) throw new IsleError("not_found", "function not found");
  return fn;
}

/**
 * Creates the function (within the tenant's `maxFunctions` quota) or updates its settings.
 * The count and the insert are not one transaction: two racing creates may pass one over the
 * quota, which is a soft ceiling, not a security boundary.
 */
export async function saveFunction(db: IsleDb, tenant: Tenant, name: string, settings: FunctionSettings): Promise<FunctionRow> {
  const max = tenant.quotas.maxFunctions;
  if (max !== undefined && !(await findFunction(db, tenant.id, name)) && (await countFunctions(db, tenant.id)) >= max) {
    throw new IsleError("conflict", `the tenant's quota of ${max} functions is reached`);
  }
  return upsertFunction(db, tenant.id, name, settings);
}
