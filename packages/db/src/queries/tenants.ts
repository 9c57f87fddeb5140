import { IsleError } from "@isle/errors";
import { asc, eq } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { tenants, type Tenant, type TenantQuotas } from "../schema/tenants.js";
import { isDnsLabel, sqlState, sqlStateOf } from "./pg-errors.js";

/**
 * Create a tenant. Throws IsleError `validation_failed` when the name is not a DNS label and
 * `conflict` when the name is taken.
 */
export async function createTenant(db: IsleDb, name: string): Promise<Tenant> {
  if (!isDnsLabel(name)) {
    throw new IsleError("validation_failed", "tenant name must be a DNS label (a-z, 0-9, '-', at most 63)");
  }
  try {
    const [row] = await db.insert(tenants).values({ id: newId("ten"), name }).returning();
    if (!row) throw new Error("insert into tenants returned no row");
    return row;
  } catch (err) {
    if (sqlStateOf(err) === sqlState.uniqueViolation) {
      throw new IsleError("conflict", `tenant "${name}" already exists`);
    }
    throw err;
  }
}

/** The tenant with this name, if any. */
export async function findTenantByName(db: IsleDb, name: string): Promise<Tenant | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.name, name)).limit(1);
  return row;
}

/** One tenant by id. */
export async function findTenantById(db: IsleDb, id: string): Promise<Tenant | undefined> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id)).limit(1);
  return row;
}

/** Every tenant, by name (operator view). */
export async function listTenants(db: IsleDb): Promise<Tenant[]> {
  return db.select().from(tenants).orderBy(asc(tenants.name));
}

/**
 * Replace the given quota fields of a tenant (absent fields keep their value, `null` clears
 * one back to the platform default). Undefined when the tenant does not exist.
 */
export async function updateTenantQuotas(
  db: IsleDb,
  id: string,
  quotas: { [K in keyof TenantQuotas]?: number | null },
): Promise<Tenant | undefined> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(tenants).where(eq(tenants.id, id)).for("update");
    if (!current) return undefined;
    const next: TenantQuotas = { ...current.quotas };
    for (const [key, value] of Object.entries(quotas) as Array<[keyof TenantQuotas, number | null | undefined]>) {
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    }
    const [row] = await tx.update(tenants).set({ quotas: next }).where(eq(tenants.id, id)).returning();
    return row;
  });
}

/**
 * Delete a tenant and, through the foreign keys' cascades, its functions, deployments, keys,
 * secrets and invocation records. True when it existed. Artifacts stay: they are shared by
 * content and may be named by other tenants' deployments.
 */
export async function deleteTenant(db: IsleDb, id: string): Promise<boolean> {
  const rows = await db.delete(tenants).where(eq(tenants.id, id)).returning({ id: tenants.id });
  return rows.length > 0;
}
