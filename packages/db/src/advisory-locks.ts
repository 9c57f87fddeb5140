import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import type { Pool } from "pg";
import type { IsleDb } from "./client.js";
import * as schema from "./schema/index.js";

/**
 * Postgres advisory lock keys used by Isle, in one place so two features never share a key.
 * Each is a bigint (as a decimal string for the driver): the high 32 bits spell "ISLE"
 * (0x49534c45), the low bits number the use.
 */
export const advisoryLockKeys = {
  /** Held while migrations run, so gateways starting together apply them once. */
  migrate: String((0x49534c45n << 16n) | 1n),
  /** Held by the one gateway that runs the scaler loop. */
  scalerLeader: String((0x49534c45n << 16n) | 2n),
  /** Held by the one gateway deleting expired invocation records, for one pass. */
  recordRetention: String((0x49534c45n << 16n) | 3n),
} as const;

/** What {@link tryWithAdvisoryLockPostgres} found: the lock taken and the work done, or the lock held elsewhere. */
export type LockedResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs `work` if no other session holds the advisory lock `key`, without waiting for it. The
 * lock is a session lock on one pooled connection, and `work` gets a database over that same
 * connection: if the connection breaks, the lock and the work end together, so the work never
 * goes on while another gateway believes it holds the lock. A failed connection is destroyed
 * rather than returned to the pool (its lock dies with it).
 */
export async function tryWithAdvisoryLockPostgres<T>(pool: Pool, key: string, work: (db: IsleDb) => Promise<T>): Promise<LockedResult<T>> {
  const client = await pool.connect();
  // An error on a checked-out client has no pool listener; without one Node would crash.
  const onError = () => undefined;
  client.on("error", onError);
  let broken = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1::bigint) as locked", [key]);
    if (!rows[0]?.locked) return { acquired: false };
    try {
      return { acquired: true, value: await work(drizzlePg({ client, schema })) };
    } finally {
      await client.query("select pg_advisory_unlock($1::bigint)", [key]);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}
