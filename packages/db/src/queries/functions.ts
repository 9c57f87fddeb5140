import { IsleError } from "@isle/errors";
import { and, eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import {
  functions,
  type FunctionLimits,
  type FunctionRow,
  type FunctionRuntime,
  type FunctionScale,
  type FunctionVisibility,
} from "../schema/functions.js";
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
