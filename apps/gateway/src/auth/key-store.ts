import { eq } from "drizzle-orm";
import { apiKeys, type IsleDb } from "@isle/db";
import type { StoredKey } from "./api-keys.js";

/** The stored key with this id, as the verifier reads it. */
export async function findStoredKey(db: IsleDb, id: string): Promise<StoredKey | undefined> {
  const [row] = await db
    .select({
      id: apiKeys.id,
      tenantId: apiKeys.tenantId,
      secretHash: apiKeys.secretHash,
      scopes: apiKeys.scopes,
      functionName: apiKeys.functionName,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.id, id))
    .limit(1);
  return row;
}
