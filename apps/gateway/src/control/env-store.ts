import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { functions, listFunctionSecrets, type IsleDb } from "@isle/db";
import type { SecretBox } from "../secrets/secret-box.js";

/** A function's env as isolates get it, and a version that changes whenever it does. */
export interface FunctionEnv {
  version: string;
  vars: Record<string, string>;
}

/** Reads a function's env vars and secrets for isolates. */
export interface EnvStore {
  /** Variables and decrypted secrets; a secret wins over a variable of the same name. */
  current(tenantId: string, functionId: string): Promise<FunctionEnv | undefined>;
}

/** What the env version is computed from: variables, and secrets still sealed. */
export interface StoredEnv {
  env: Record<string, string>;
  secrets: Array<{ name: string; sealed: Buffer }>;
}

/**
 * The version hashes the sorted variables and each secret's sealed bytes, so
 * it is stable across gateways and restarts, changes with any edit, and says
 * nothing about secret values. It is part of the isolate id: an env change
 * loads a fresh isolate.
 */
export function envVersion({ env, secrets }: StoredEnv): string {
  const hash = createHash("sha256");
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`v\0${name}\0${value}\0`);
  for (const { name, sealed } of [...secrets].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    hash.update(`s\0${name}\0`).update(sealed).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** Env vars and secrets of functions, from the database. */
export class DbEnvStore implements EnvStore {
  constructor(
    private readonly db: IsleDb,
    private readonly secretBox: SecretBox,
  ) {}

  async current(tenantId: string, functionId: string): Promise<FunctionEnv | undefined> {
    const stored = await this.read(tenantId, functionId);
    if (!stored) return undefined;
    const vars: Record<string, string> = { ...stored.env };
    for (const { name, sealed } of stored.secrets) vars[name] = this.secretBox.open(sealed);
    return { version: envVersion(stored), vars };
  }

  private async read(tenantId: string, functionId: string): Promise<StoredEnv | undefined> {
    const [row] = await this.db
      .select({ env: functions.env })
      .from(functions)
      .where(and(eq(functions.id, functionId), eq(functions.tenantId, tenantId)))
      .limit(1);
    if (!row) return undefined;
    return { env: row.env, secrets: await listFunctionSecrets(this.db, tenantId, functionId) };
  }
}
