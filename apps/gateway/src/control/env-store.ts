import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { functions, type IsleDb } from "@isle/db";

/** A function's env as isolates get it, and a version that changes whenever it does. */
export interface FunctionEnv {
  version: string;
  vars: Record<string, string>;
}

/** Reads a function's env vars (and, with them, its secrets) for isolates. */
export interface EnvStore {
  current(tenantId: string, functionId: string): Promise<FunctionEnv | undefined>;
}

/**
 * The version is a hash of the sorted variables, so it is stable across
 * gateways and restarts and changes with any edit; it is part of the isolate
 * id, which makes an env change load a fresh isolate.
 */
export function envVersion(vars: Record<string, string>): string {
  const sorted = Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

/** Env vars of functions from the database. */
export class DbEnvStore implements EnvStore {
  constructor(private readonly db: IsleDb) {}

  async current(tenantId: string, functionId: string): Promise<FunctionEnv | undefined> {
    const [row] = await this.db
      .select({ env: functions.env })
      .from(functions)
      .where(and(eq(functions.id, functionId), eq(functions.tenantId, tenantId)))
      .limit(1);
    if (!row) return undefined;
    return { version: envVersion(row.env), vars: row.env };
  }
}
