import type { Hono } from "hono";
import { z } from "zod";
import { upsertFunction, type IsleDb } from "@isle/db";
import { IsleError } from "@isle/errors";
import type { GatewayEnv } from "../../env.js";
import type { TargetResolver } from "../../invoke/target-resolver.js";
import { isDnsLabel } from "../../names.js";
import { readJson } from "../json-body.js";
import { requireTenant } from "../tenant-lookup.js";

const limits = z.strictObject({
  timeoutMs: z.number().int().min(100).max(15 * 60_000).optional(),
  cpuMs: z.number().int().min(1).max(15 * 60_000).optional(),
  memoryMb: z.number().int().min(16).max(8192).optional(),
  maxRequestBytes: z.number().int().min(0).optional(),
  maxResponseBytes: z.number().int().min(0).optional(),
  subrequests: z.number().int().min(0).max(10_000).optional(),
});

const scale = z.strictObject({
  min: z.number().int().min(0).max(1000).optional(),
  max: z.number().int().min(0).max(1000).optional(),
  targetConcurrency: z.number().int().min(1).max(10_000).optional(),
  idleSeconds: z.number().int().min(0).max(86_400).optional(),
});

export const putFunctionBody = z.strictObject({
  runtime: z.enum(["workerd", "container"]).optional(),
  visibility: z.enum(["private", "public"]).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env names are identifiers"), z.string()).optional(),
  limits: limits.optional(),
  scale: scale.optional(),
});

/** `PUT /v1/tenants/:tenant/functions/:function` → 200 the function (created when missing). */
export function registerPutFunction(app: Hono<GatewayEnv>, db: IsleDb, resolver: TargetResolver): void {
  app.put("/v1/tenants/:tenant/functions/:function", async (c) => {
    const tenant = await requireTenant(db, c.req.param("tenant"));
    const name = c.req.param("function");
    if (!isDnsLabel(name)) throw new IsleError("validation_failed", "function name must be a DNS label");
    const settings = await readJson(c, putFunctionBody);
    const fn = await upsertFunction(db, tenant.id, name, settings);
    resolver.invalidate(tenant.name, fn.name);
    return c.json(
      {
        id: fn.id,
        name: fn.name,
        runtime: fn.runtime,
        visibility: fn.visibility,
        env: fn.env,
        limits: fn.limits,
        scale: fn.scale,
        activeDeploymentId: fn.activeDeploymentId,
      },
      200,
    );
  });
}
