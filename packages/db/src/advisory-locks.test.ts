import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { advisoryLockKeys } from "./advisory-locks.js";
import { openDatabase, type Database } from "./client.js";
import { openTestDatabase, type OpenTestDatabase } from "./test-support/databases.js";

const key = advisoryLockKeys.recordRetention;

describe("tryWithAdvisoryLock (postgres): one gateway at a time, never waiting", () => {
  let opened: OpenTestDatabase;
  let other: Database;
  beforeAll(async () => {
    opened = await openTestDatabase("postgres");
    other = await openDatabase(opened.options);
  });
  afterAll(async () => {
    await other?.close();
    await opened?.dispose();
  });

  it("refuses another pool while the work runs, on the connection holding the lock, and frees it after", async () => {
    const backendOf = async (db: Database["db"]) =>
      ((await db.execute(sql`select pg_backend_pid() as pid`)) as unknown as { rows: Array<{ pid: number }> }).rows[0]!.pid;
    const held = await opened.database.tryWithAdvisoryLock(key, async (db) => {
      const refused = await other.tryWithAdvisoryLock(key, async () => "ran");
      const locks = await other.db.execute(sql`select pid from pg_locks where locktype = 'advisory' and granted`);
      return { refused, pid: await backendOf(db), holders: (locks as unknown as { rows: Array<{ pid: number }> }).rows.map((r) => r.pid) };
    });
    expect(held.acquired).toBe(true);
    if (!held.acquired) return;
    expect(held.value.refused).toEqual({ acquired: false });
    // The work's queries run on the session that holds the lock.
    expect(held.value.holders).toEqual([held.value.pid]);
    expect(await other.tryWithAdvisoryLock(key, async () => "ran")).toEqual({ acquired: true, value: "ran" });
  });

  it("frees the lock when the work fails, and passes the failure on", async () => {
    await expect(opened.database.tryWithAdvisoryLock(key, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await other.tryWithAdvisoryLock(key, async () => "ran")).toEqual({ acquired: true, value: "ran" });
  });
});

describe("tryWithAdvisoryLock (pglite)", () => {
  let opened: OpenTestDatabase;
  beforeAll(async () => {
    opened = await openTestDatabase("pglite");
  });
  afterAll(() => opened?.dispose());

  it("always runs the work: the database has one owner process", async () => {
    const nested = await opened.database.tryWithAdvisoryLock(key, () => opened.database.tryWithAdvisoryLock(key, async () => "ran"));
    expect(nested).toEqual({ acquired: true, value: { acquired: true, value: "ran" } });
  });
});
