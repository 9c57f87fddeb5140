import { and, eq } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { deployments } from "../schema/deployments.js";
import { functions, type FunctionLimits, type TrafficSplit, type FunctionRuntime, type FunctionVisibility } from "../schema/functions.js";
import { previews } from "../schema/previews.js";
import { tenants, type TenantQuotas } from "../schema/tenants.js";

/** Everything the invoke path needs to route a request to the live version of a function. */
export interface ActiveTarget {
  tenantId: string;
  tenantName: string;
  /** The tenant's quotas and rate limits (unset fields: platform defaults). */
  tenantQuotas: TenantQuotas;
  functionId: string;
  functionName: string;
  runtime: FunctionRuntime;
  visibility: FunctionVisibility;
  limits: FunctionLimits;
  /** The function's env vars (not its secrets): they go into its env version. */
  env: Record<string, string>;
  /** A share of requests for another ready deployment, when a traffic split is set. */
  traffic: TrafficSplit | null;
  deploymentId: string;
  artifactHash: string;
  /** The bundle's entry module. */
  entry: string;
  version: number;
}

const targetColumns = {
  tenantId: tenants.id,
  tenantName: tenants.name,
  tenantQuotas: tenants.quotas,
  functionId: functions.id,
  functionName: functions.name,
  runtime: functions.runtime,
  visibility: functions.visibility,
  limits: functions.limits,
  env: functions.env,
  traffic: functions.traffic,
  deploymentId: deployments.id,
  artifactHash: deployments.artifactHash,
  entry: deployments.entry,
  version: deployments.version,
};

/**
 * Resolve `/fn/:tenant/:function` to its active deployment in one round trip (this runs on
 * every invoke). Undefined when the tenant, the function or an active deployment is missing —
 * callers answer all three with the same 404. The deployment join repeats the tenant and
 * function ids so a bad pointer can never serve another tenant's code.
 */
export async function findActiveTarget(
  db: IsleDb,
  tenantName: string,
  functionName: string,
): Promise<ActiveTarget | undefined> {
  const [row] = await db
    .select(targetColumns)
    .from(tenants)
    .innerJoin(functions, and(eq(functions.tenantId, tenants.id), eq(functions.name, functionName)))
    .innerJoin(
      deployments,
      and(
        eq(deployments.id, functions.activeDeploymentId),
        eq(deployments.functionId, functions.id),
        eq(deployments.tenantId, tenants.id),
      ),
    )
    .where(eq(tenants.name, tenantName))
    .limit(1);
  return row;
}

/**
 * Resolve `/fn/:tenant/:function@:label` to the deployment of that branch preview, in one round
 * trip, scoped like findActiveTarget: the function's settings, the preview's deployment. A
 * traffic split is the live version's affair: a preview takes every request it gets.
 */
export async function findPreviewTarget(
  db: IsleDb,
  tenantName: string,
  functionName: string,
  label: string,
): Promise<ActiveTarget | undefined> {
  const [row] = await db
    .select(targetColumns)
    .from(tenants)
    .innerJoin(functions, and(eq(functions.tenantId, tenants.id), eq(functions.name, functionName)))
    .innerJoin(previews, and(eq(previews.functionId, functions.id), eq(previews.tenantId, tenants.id), eq(previews.label, label)))
    .innerJoin(
      deployments,
      and(eq(deployments.id, previews.deploymentId), eq(deployments.functionId, functions.id), eq(deployments.tenantId, tenants.id)),
    )
    .where(eq(tenants.name, tenantName))
    .limit(1);
  return row ? { ...row, traffic: null } : undefined;
}
