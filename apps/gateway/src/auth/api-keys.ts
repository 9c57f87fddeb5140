import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { StoredApiKey } from "@isle/db";

/** What a key may do. `admin` implies every other scope within its tenant. */
export type Scope = "invoke" | "deploy" | "read" | "admin";
export const scopes: readonly Scope[] = ["invoke", "deploy", "read", "admin"];

/** A key as stored: only a SHA-256 of its secret, never the secret. */
export type StoredKey = StoredApiKey;

/** A key that checked out, as the rest of the gateway sees it. */
export interface VerifiedKey {
  id: string;
  tenantId: string;
  scopes: readonly string[];
  /** When set, the key works for this function only. */
  functionName: string | null;
}

/** Keys look like `isk_<key id>_<secret>`; the id names the row, the secret proves possession. */
const keyPattern = /^isk_(key_[a-z2-7]{20})_([0-9a-f]{48})$/;

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A new key for row `id`: the full key (shown once) and the hash to store. */
export function mintApiKey(id: string): { key: string; secretHash: string } {
  const secret = randomBytes(24).toString("hex");
  return { key: `isk_${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The credential a request presents: `Authorization: Bearer …` or `x-api-key`. */
export function presentedCredential(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  return bearer ?? apiKeyHeader?.trim() ?? undefined;
}

export function hasScope(key: VerifiedKey, scope: Scope): boolean {
  return key.scopes.includes(scope) || key.scopes.includes("admin");
}

/**
 * Checks presented API keys against the store. Rows are cached for at most
 * `ttlMs` (default 500 ms), so a revocation or expiry takes effect on every
 * gateway within a second while a busy key costs one lookup per interval.
 * Every failure — malformed, unknown, wrong secret, expired, revoked — is the
 * same `undefined`, so callers cannot leak which one it was.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { row: StoredKey | undefined; until: number }>();

  constructor(
    private readonly lookup: (id: string) => Promise<StoredKey | undefined>,
    private readonly ttlMs = 500,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 50_000,
  ) {}

  async verify(presented: string | undefined): Promise<VerifiedKey | undefined> {
    const match = presented ? keyPattern.exec(presented) : null;
    if (!match) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const row = await this.row(id);
    if (!row) return undefined;
    const expected = Buffer.from(row.secretHash, "hex");
    const actual = Buffer.from(hashSecret(secret), "hex");
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    const now = this.now();
    if (row.revokedAt && row.revokedAt.getTime() <= now) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() <= now) return undefined;
    return { id: row.id, tenantId: row.tenantId, scopes: row.scopes, functionName: row.functionName };
  }

  /** Forgets a key at once on this gateway (after revoking it here). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  private async row(id: string): Promise<StoredKey | undefined> {
    const hit = this.cache.get(id);
    if (hit && hit.until > this.now()) return hit.row;
    const row = await this.lookup(id);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(id, { row, until: this.now() + this.ttlMs });
    return row;
  }
}
