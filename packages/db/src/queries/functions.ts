import { IsleError } from "@isle/errors";
import { and, asc, eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import {
  functions,
  type FunctionLimits,
  type FunctionRow,
  type FunctionRuntime,
  type FunctionScale,
  type FunctionVisibility,
  type TrafficSplit,
} from "../schema/functions.js";
import { deployments } from "../schema/deployments.js";
import { isDnsLabel } from "./pg-errors.js";

/** The settable parts of a function; absent fields keep their current (or default) value. */
export interface FunctionSettings {
  runtime?: FunctionRuntime;
  visibility?: FunctionVisibility;
  env?: Record<string, string>;
  limits?: FunctionLimits;
  scale?: FunctionScale;
}

/**
 * Create the function or update the given settings, in one statement so concurrent PUTs of a
 * new function cannot both insert. Returns the row as stored.
 */
export async function upsertFunction(
  db: IsleDb,
  tenantId: string,
  name: string,
  settings: FunctionSettings,
): Promise<FunctionRow> {
  if (!isDnsLabel(name)) {
    throw new IsleError("validation_failed", "function name must be a DNS label (a-z, 0-9, '-', at most 63)");
  }
  // Only defined keys: spreading `undefined` into the update would null the column.
  const given = Object.fromEntries(
    Object.entries(settings).filter(([key, value]) => value !== undefined && key in settingKeys),
  ) as FunctionSettings;
  const [row] = await db
    .insert(functions)
    .values({ id: newId("fn"), tenantId, name, ...given })
    .onConflictDoUpdate({
      target: [functions.tenantId, functions.name],
      set: { ...given, updatedAt: sql`now()` },
    })
    .returning();
  if (!row) throw new Error("upsert into functions returned no row");
  return row;
}

const settingKeys: Record<keyof FunctionSettings, true> = {
  runtime: true,
  visibility: true,
  env: true,
  limits: true,
  scale: true,
};

/** The tenant's function with this name, if any. */
export async function findFunction(
  db: IsleDb,
  tenantId: string,
  name: string,
): Promise<FunctionRow | undefined> {
  const [row] = await db
    .select()
    .from(functions)
    .where(and(eq(functions.tenantId, tenantId), eq(functions.name, name)))
    .limit(1);
  return row;
}

/** The tenant's functions, by name. */
export async function listFunctions(db: IsleDb, tenantId: string): Promise<FunctionRow[]> {
  return db.select().from(functions).where(eq(functions.tenantId, tenantId)).orderBy(asc(functions.name));
}

/** How many functions the tenant has (for its quota). */
export async function countFunctions(db: IsleDb, tenantId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(functions)
    .where(eq(functions.tenantId, tenantId));
  return row?.n ?? 0;
}

/** Delete the tenant's function with its deployments and secrets (cascade). True when it existed. */
export async function deleteFunction(db: IsleDb, tenantId: string, name: string): Promise<boolean> {
  const rows = await db
    .delete(functions)
    .where(and(eq(functions.tenantId, tenantId), eq(functions.name, name)))
    .returning({ id: functions.id });
  return rows.length > 0;
}

/**
 * Send `percent` of the function's requests to one of its ready deployments, or (null) remove
 * the split. Returns the updated function. Throws IsleError `not_found` when the deployment is
 * not this function's, `conflict` when it is not ready.
 */
export async function setTrafficSplit(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  split: TrafficSplit | null,
): Promise<FunctionRow> {
  if (split) {
    const [target] = await db
      .select({ status: deployments.status })
      .from(deployments)
      .where(
        and(eq(deployments.id, split.deploymentId), eq(deployments.functionId, functionId), eq(deployments.tenantId, tenantId)),
      );
    if (!target) throw new IsleError("not_found", "deployment not found");
    if (target.status !== "ready") throw new IsleError("conflict", `deployment is ${target.status}; only a ready one can take traffic`);
  }
  const [row] = await db
    .update(functions)
    .set({ traffic: split, updatedAt: sql`now()` })
    .where(and(eq(functions.id, functionId), eq(functions.tenantId, tenantId)))
    .returning();
  if (!row) throw new IsleError("not_found", "function not found");
  return row;
}
