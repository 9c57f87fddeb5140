import { IsleError } from "@isle/errors";
import { eq } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { tenants, type Tenant } from "../schema/tenants.js";
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
