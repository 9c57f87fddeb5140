/**
 * Test databases on both drivers (exported as `@isle/db/testing` for other packages' tests): a
 * fresh PGlite directory, or a fresh database on the local Postgres server.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openDatabase, type Database, type OpenDatabaseOptions } from "../client.js";

/**
 * Where the test run's migrated PGlite template is (set by `pglite-template-setup.ts`, the
 * global setup of the test projects).
 */
export const pgliteTemplateEnv = "ISLE_TEST_PGLITE_TEMPLATE";

/**
 * Creates a PGlite database in `dataDir` (its `pglite` directory), migrated and closed, to copy
 * from: creating a PGlite cluster costs seconds of CPU, copying one a fraction of that.
 */
export async function createPgliteTemplate(dataDir: string): Promise<string> {
  const database = await openDatabase({ dataDir });
  await database.close();
  return join(dataDir, "pglite");
}

let template: Promise<string> | undefined;

/**
 * A migrated, closed PGlite directory: the global setup's, or else one made once per process
 * (and removed when it exits).
 */
export function pgliteTemplate(): Promise<string> {
  return (template ??= (async () => {
    const made = process.env[pgliteTemplateEnv];
    if (made) return made;
    const dir = await mkdtemp(join(tmpdir(), "isle-pglite-template-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return createPgliteTemplate(dir);
  })());
}

/**
 * Gives `dataDir` a migrated PGlite database of its own (a copy of the template), as if Isle had
 * run there once: `openDatabase({ dataDir })` then finds every migration applied.
 */
export async function seedPgliteDataDir(dataDir: string): Promise<void> {
  await cp(await pgliteTemplate(), join(dataDir, "pglite"), { recursive: true });
}

/** Both drivers every storage test runs against. */
export const drivers = ["pglite", "postgres"] as const;
export type Driver = (typeof drivers)[number];

/** The local test server (trust auth); each test file gets a fresh database on it. */
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Options for a fresh, empty database, and how to throw it away. */
export interface TestDatabase {
  options: OpenDatabaseOptions;
  dispose(): Promise<void>;
}

/**
 * A fresh temp data directory, plus a fresh `isle_test_<random>` database for Postgres. On PGlite
 * the directory holds a copy of a migrated database unless `empty` is set, so opening it applies no
 * migration; tests of the migrations themselves ask for an empty one.
 */
export async function createTestDatabase(driver: Driver, { empty = false }: { empty?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "isle-db-test-"));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (driver === "pglite") {
    if (!empty) await seedPgliteDataDir(dataDir);
    return { options: { dataDir }, dispose: removeDir };
  }

  const name = `isle_test_${randomBytes(6).toString("hex")}`;
  await admin(`create database ${name}`);
  return {
    options: { dataDir, databaseUrl: `postgres://postgres@127.0.0.1:5432/${name}` },
    async dispose() {
      await admin(`drop database if exists ${name} with (force)`);
      await removeDir();
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh test database, open. */
export interface OpenTestDatabase {
  /** Where it is, to open it a second time. */
  options: OpenDatabaseOptions;
  /** The open database; replaced by `reopen`. */
  database: Database;
  /** Close the database and open it again from the same place, as a restarted process would. */
  reopen(): Promise<void>;
  /** Close it and throw it away. */
  dispose(): Promise<void>;
}

/** {@link createTestDatabase}, opened. */
export async function openTestDatabase(driver: Driver): Promise<OpenTestDatabase> {
  const test = await createTestDatabase(driver);
  const opened: OpenTestDatabase = {
    options: test.options,
    database: await openDatabase(test.options),
    async reopen() {
      await opened.database.close();
      opened.database = await openDatabase(test.options);
    },
    async dispose() {
      await opened.database.close();
      await test.dispose();
    },
  };
  return opened;
}
