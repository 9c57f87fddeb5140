import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { tryWithAdvisoryLockPostgres, type LockedResult } from "./advisory-locks.js";
import { checkChannel, listenPostgres, type NotifyCallback, type Unlisten } from "./listen.js";
import { migratePglite, migratePostgres } from "./migrate.js";
import { acquirePgliteLock } from "./pglite-lock.js";
import * as schema from "./schema/index.js";

/** The tables, as handed to drizzle for relational queries. */
export type IsleSchema = typeof schema;

/** A drizzle database over either driver; query helpers take this. */
export type IsleDb = PgDatabase<PgQueryResultHKT, IsleSchema>;

/** An open database and how to close it. */
export interface Database {
  db: IsleDb;
  kind: "postgres" | "pglite";
  /**
   * LISTEN on `channel` (a plain lower-case identifier) until the returned function is called.
   * Resolves once listening on PGlite; on Postgres at once, connecting a dedicated session in the
   * background and calling `onNotify(undefined)` each time it is listening (notifications sent
   * before are lost). Notifications are hints: a caller must still poll to be correct.
   */
  listen(channel: string, onNotify: NotifyCallback): Promise<Unlisten>;
  /**
   * Runs `work` unless another session holds the advisory lock `key` (one of `advisoryLockKeys`),
   * never waiting for it: on Postgres, `work` runs over the connection holding the lock, which is
   * released when it settles. On PGlite it always runs: the database has one owner process.
   */
  tryWithAdvisoryLock<T>(key: string, work: (db: IsleDb) => Promise<T>): Promise<LockedResult<T>>;
  /** Ends the pool, or stops PGlite and releases the data directory. Idempotent. */
  close(): Promise<void>;
}

/** Where the data lives. */
export interface OpenDatabaseOptions {
  /** Postgres connection string. Absent: embedded PGlite in `<dataDir>/pglite`. */
  databaseUrl?: string;
  /** Isle's data directory (`ISLE_DATA_DIR`). */
  dataDir: string;
  /**
   * Errors on idle pooled Postgres connections (e.g. the server restarted). The pool drops
   * the broken connection by itself; without a listener Node would crash the process.
   */
  onPoolError?: (err: Error) => void;
}

/**
 * Open the database and bring its schema up to date. With `databaseUrl`, a node-postgres pool
 * (many gateways may share it); without, embedded PGlite owned by this process alone — a second
 * opener gets a DatabaseLockedError (`code: "database_locked"`) before touching any file.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.onPoolError)
    : openPglite(resolve(options.dataDir));
}

async function openPostgres(url: string, onPoolError?: (err: Error) => void): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url });
  pool.on("error", onPoolError ?? (() => {}));
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const db: IsleDb = drizzlePg({ client: pool, schema });
  const listeners = new Set<Unlisten>();
  const listen = async (channel: string, onNotify: NotifyCallback): Promise<Unlisten> => {
    const stop = listenPostgres(url, channel, onNotify);
    const unlisten = once(async () => {
      listeners.delete(unlisten);
      await stop();
    });
    listeners.add(unlisten);
    return unlisten;
  };
  const close = async (): Promise<void> => {
    await Promise.all([...listeners].map((unlisten) => unlisten()));
    await pool.end();
  };
  const tryWithAdvisoryLock = <T>(key: string, work: (db: IsleDb) => Promise<T>) => tryWithAdvisoryLockPostgres(pool, key, work);
  return { db, kind: "postgres", listen, tryWithAdvisoryLock, close: once(close) };
}

async function openPglite(dataDir: string): Promise<Database> {
  await mkdir(dataDir, { recursive: true });
  const lock = await acquirePgliteLock(dataDir, join(dataDir, "pglite.lock"));
  let client: PGlite | undefined;
  try {
    client = await PGlite.create(join(dataDir, "pglite"));
    await migratePglite(client);
  } catch (err) {
    await client?.close().catch(() => {});
    await lock.release();
    throw err;
  }
  const pglite = client;
  const db: IsleDb = drizzlePglite({ client: pglite, schema });
  const listen = async (channel: string, onNotify: NotifyCallback): Promise<Unlisten> => {
    checkChannel(channel);
    const unlisten = await pglite.listen(channel, onNotify);
    return once(async () => {
      // Closing PGlite drops its listeners with it.
      if (!pglite.closed) await unlisten();
    });
  };
  const close = async (): Promise<void> => {
    try {
      await pglite.close();
    } finally {
      await lock.release();
    }
  };
  const tryWithAdvisoryLock = async <T>(_key: string, work: (db: IsleDb) => Promise<T>): Promise<LockedResult<T>> => ({ acquired: true, value: await work(db) });
  return { db, kind: "pglite", listen, tryWithAdvisoryLock, close: once(close) };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
