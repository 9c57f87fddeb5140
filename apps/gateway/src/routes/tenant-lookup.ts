import { IsleError } from "@isle/errors";
import { findTenantByName, isDnsLabel, type IsleDb } from "@isle/db";

/** The tenant named in a path, or the same 404 as any missing resource. */
export async function requireTenant(db: IsleDb, name: string | undefined) {
  const tenant = name && isDnsLabel(name) ? await findTenantByName(db, name) : undefined;
  if (!tenant) throw new IsleError("not_found", "tenant not found");
  return tenant;
}
