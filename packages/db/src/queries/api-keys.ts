import { and, desc, eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { apiKeys, type ApiKey, type ApiKeyScope } from "../schema/api-keys.js";

/** What a new key row needs; the caller mints the id and the secret's hash. */
export interface CreateApiKeyInput {
  id: string;
  tenantId: string;
  name: string;
  secretHash: string;
  scopes: ApiKeyScope[];
  functionName?: string | null;
  expiresAt?: Date | null;
}

/** A key as listed: everything but the hash. */
export type ApiKeySummary = Omit<ApiKey, "secretHash">;

/** The fields the gateway's key verifier needs, for one key id whatever its tenant. */
export interface StoredApiKey {
  id: string;
  tenantId: string;
  secretHash: string;
  scopes: string[];
  functionName: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const summary = {
  id: apiKeys.id,
  tenantId: apiKeys.tenantId,
  name: apiKeys.name,
  scopes: apiKeys.scopes,
  functionName: apiKeys.functionName,
  expiresAt: apiKeys.expiresAt,
  revokedAt: apiKeys.revokedAt,
  lastUsedAt: apiKeys.lastUsedAt,
  createdAt: apiKeys.createdAt,
};

/** Store a new key. Returns it without its hash. */
export async function createApiKey(db: IsleDb, input: CreateApiKeyInput): Promise<ApiKeySummary> {
  const [row] = await db
    .insert(apiKeys)
    .values({ ...input, functionName: input.functionName ?? null, expiresAt: input.expiresAt ?? null })
    .returning(summary);
  if (!row) throw new Error("insert into api_keys returned no row");
  return row;
}

/** The tenant's keys, newest first, revoked ones included (they say when). Never the hashes. */
export async function listApiKeys(db: IsleDb, tenantId: string): Promise<ApiKeySummary[]> {
  return db.select(summary).from(apiKeys).where(eq(apiKeys.tenantId, tenantId)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
}

/**
 * Revoke one of the tenant's keys now (database clock). True when the key is the tenant's;
 * revoking twice keeps the first time.
 */
export async function revokeApiKey(db: IsleDb, tenantId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, tenantId)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/**
 * One key by id, for verifying a presented key. Not tenant-scoped on purpose: the id in the
 * presented key is what tells the tenant.
 */
export async function findApiKeyById(db: IsleDb, id: string): Promise<StoredApiKey | undefined> {
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
