import { and, eq, gt, inArray, isNotNull, or, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { deployments } from "../schema/deployments.js";
import { functionReplicas } from "../schema/function-replicas.js";
import { functions, type FunctionScale } from "../schema/functions.js";
import { tenants, type TenantQuotas } from "../schema/tenants.js";

const r = functionReplicas;

/** One function's replica count. */
export interface ReplicaCount {
  tenantId: string;
  functionId: string;
  replicas: number;
}

/**
 * Replica counts changed after `since` (all of them without it), and the
 * database's clock when they were read (`readAt`, the caller's next `since`).
 * The clock stays the database's text, to the microsecond: a JavaScript
 * Date would round it to the millisecond and show a change twice or miss it.
 * `marginMs` looks that much further back, for writes that committed after
 * the moment they stamped.
 */
export async function replicaCountsChangedSince(db: IsleDb, since?: string, marginMs = 0): Promise<{ counts: ReplicaCount[]; readAt: string }> {
  // Both drivers answer a raw statement with `{ rows }`. Read the clock first: a row changed
  // after this read has a later timestamp and shows in the next call.
  const clock = (await db.execute(sql`select now()::text as now`)) as unknown as { rows: Array<{ now: string }> };
  const rows = await db
    .select({ tenantId: r.tenantId, functionId: r.functionId, replicas: r.replicas })
    .from(r)
    .where(since === undefined ? undefined : sql`${r.updatedAt} > ${since}::timestamptz - ${marginMs} * interval '1 millisecond'`);
  return { counts: rows, readAt: clock.rows[0]!.now };
}

/**
 * Gives a function at zero replicas its first one, for a request that is
 * waiting for it (scale from zero). A function already running keeps its
 * count. Returns the count now in force.
 */
export async function activateFunction(db: IsleDb, tenantId: string, functionId: string): Promise<number> {
  const [row] = await db
    .insert(r)
    .values({ tenantId, functionId, replicas: 1 })
    .onConflictDoUpdate({ target: r.functionId, set: { replicas: 1, updatedAt: sql`now()` }, where: eq(r.replicas, 0) })
    .returning({ replicas: r.replicas });
  if (row) return row.replicas;
  const [current] = await db.select({ replicas: r.replicas }).from(r).where(eq(r.functionId, functionId));
  return current?.replicas ?? 0;
}

/**
 * Stores the scaler's decision for a function. Zero stays a row (not a
 * deletion), so gateways polling for changes see the function go to zero.
 * Writes nothing when the count is already `replicas`.
 */
export async function setFunctionReplicas(db: IsleDb, tenantId: string, functionId: string, replicas: number): Promise<void> {
  await db
    .insert(r)
    .values({ tenantId, functionId, replicas })
    .onConflictDoUpdate({ target: r.functionId, set: { replicas, updatedAt: sql`now()` }, where: sql`${r.replicas} <> ${replicas}` });
}

/** What the scaler needs to know of a function: its settings and its tenant's quotas. */
export interface ScalingSubject {
  tenantId: string;
  functionId: string;
  scale: FunctionScale;
  quotas: TenantQuotas;
  /** What runs now, for prewarming new replicas; null before the first deploy. */
  deploymentId: string | null;
  artifactHash: string | null;
}

/**
 * The scaling settings of the given functions, of every function that has
 * replicas and of every deployed function with a minimum, with their
 * tenants' quotas: all the scaler decides about.
 * Functions that no longer exist are absent.
 */
export async function listScalingSubjects(db: IsleDb, withLoad: string[]): Promise<ScalingSubject[]> {
  const columns = {
    tenantId: functions.tenantId,
    functionId: functions.id,
    scale: functions.scale,
    quotas: tenants.quotas,
    deploymentId: deployments.id,
    artifactHash: deployments.artifactHash,
  };
  // A deployed function with a minimum counts even before its first request.
  const minimum = sql`case when jsonb_typeof(${functions.scale}->'min') = 'number' then (${functions.scale}->>'min')::numeric else 0 end`;
  const scaled = await db
    .select(columns)
    .from(functions)
    .innerJoin(tenants, eq(tenants.id, functions.tenantId))
    .leftJoin(r, eq(r.functionId, functions.id))
    .leftJoin(deployments, eq(deployments.id, functions.activeDeploymentId))
    .where(or(gt(r.replicas, 0), and(isNotNull(functions.activeDeploymentId), sql`${minimum} > 0`)));
  const known = new Set(scaled.map((s) => s.functionId));
  const missing = withLoad.filter((id) => !known.has(id));
  if (missing.length === 0) return scaled;
  const loaded = await db
    .select(columns)
    .from(functions)
    .innerJoin(tenants, eq(tenants.id, functions.tenantId))
    .leftJoin(deployments, eq(deployments.id, functions.activeDeploymentId))
    .where(inArray(functions.id, missing));
  return [...scaled, ...loaded];
}
