import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { OpenDatabaseOptions } from "../client.js";

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

/** A fresh temp data directory, plus a fresh `isle_test_<random>` database for Postgres. */
export async function createTestDatabase(driver: Driver): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "isle-db-test-"));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (driver === "pglite") return { options: { dataDir }, dispose: removeDir };

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
