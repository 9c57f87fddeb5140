import { and, asc, eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { functionSecrets } from "../schema/function-secrets.js";

/** A secret's name and times; never its value. */
export interface SecretSummary {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Create or replace one secret of the tenant's function. `sealed` is already encrypted; the
 * function id must be the tenant's (callers look it up scoped by tenant first). Returns true
 * when the secret is new.
 */
export async function putFunctionSecret(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  name: string,
  sealed: Buffer,
): Promise<boolean> {
  const [row] = await db
    .insert(functionSecrets)
    .values({ id: newId("sec"), tenantId, functionId, name, sealed })
    .onConflictDoUpdate({
      target: [functionSecrets.functionId, functionSecrets.name],
      set: { sealed, updatedAt: sql`now()` },
      // Only ever overwrite within the same tenant, even if a caller passed a foreign id.
      setWhere: eq(functionSecrets.tenantId, tenantId),
    })
    .returning({ created: sql<boolean>`${functionSecrets.createdAt} = ${functionSecrets.updatedAt}` });
  if (!row) throw new Error("upsert into function_secrets returned no row");
  return row.created;
}

/** Delete one secret. True when it existed. */
export async function deleteFunctionSecret(db: IsleDb, tenantId: string, functionId: string, name: string): Promise<boolean> {
  const rows = await db
    .delete(functionSecrets)
    .where(and(eq(functionSecrets.tenantId, tenantId), eq(functionSecrets.functionId, functionId), eq(functionSecrets.name, name)))
    .returning({ id: functionSecrets.id });
  return rows.length > 0;
}

/** The function's secret names, alphabetical. */
export async function listFunctionSecretNames(db: IsleDb, tenantId: string, functionId: string): Promise<SecretSummary[]> {
  return db
    .select({ name: functionSecrets.name, createdAt: functionSecrets.createdAt, updatedAt: functionSecrets.updatedAt })
    .from(functionSecrets)
    .where(and(eq(functionSecrets.tenantId, tenantId), eq(functionSecrets.functionId, functionId)))
    .orderBy(asc(functionSecrets.name));
}

/**
 * The function's secrets still sealed, for the invoke path to open and hand to the isolate.
 * Never send `sealed` to a client.
 */
export async function listFunctionSecrets(
  db: IsleDb,
  tenantId: string,
  functionId: string,
): Promise<{ name: string; sealed: Buffer; updatedAt: Date }[]> {
  return db
    .select({ name: functionSecrets.name, sealed: functionSecrets.sealed, updatedAt: functionSecrets.updatedAt })
    .from(functionSecrets)
    .where(and(eq(functionSecrets.tenantId, tenantId), eq(functionSecrets.functionId, functionId)))
    .orderBy(asc(functionSecrets.name));
}
