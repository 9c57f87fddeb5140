import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePgDriver } from "drizzle-orm/node-postgres/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePgliteDriver } from "drizzle-orm/pglite/migrator";
import type { Pool } from "pg";
import { advisoryLockKeys } from "./advisory-locks.js";

// Relative to this module so it works from src/ (tests) and dist/ (built): migrations/ ships
// beside both.
const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * Apply pending migrations on Postgres. Drizzle's migrator reads the last applied migration
 * *before* its transaction, so two gateways starting together would both try to apply the
 * same one; a session advisory lock on one dedicated connection serialises them, and the
 * second then finds nothing to do.
 */
export async function migratePostgres(pool: Pool): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("select pg_advisory_lock($1::bigint)", [advisoryLockKeys.migrate]);
    try {
      await migratePgDriver(drizzlePg({ client }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock($1::bigint)", [advisoryLockKeys.migrate]);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // On failure, destroy the connection rather than return it: the lock dies with it.
    client.release(broken);
  }
}

/** Apply pending migrations on embedded PGlite, which has one owner and one connection. */
export async function migratePglite(client: PGlite): Promise<void> {
  await migratePgliteDriver(drizzlePglite({ client }), { migrationsFolder });
}
