import { readFile } from "node:fs/promises";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Database, type IsleDb } from "./client.js";
import { createTenant, findTenantByName } from "./queries/tenants.js";
import { createTestDatabase, drivers, type TestDatabase } from "./test-support/databases.js";

const journal = JSON.parse(
  await readFile(new URL("../migrations/meta/_journal.json", import.meta.url), "utf8"),
) as { entries: unknown[] };

async function appliedMigrations(db: IsleDb): Promise<number> {
  const rows = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(sql`drizzle.__drizzle_migrations`);
  return rows[0]?.n ?? -1;
}

describe.each(drivers)("openDatabase (%s)", (driver) => {
  let test: TestDatabase | undefined;
  const open: Database[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
    await test?.dispose();
  });

  it("applies every migration on first open, and nothing again on reopen", async () => {
    test = await createTestDatabase(driver, { empty: true });
    const first = await openDatabase(test.options);
    expect(first.kind).toBe(driver);
    expect(await appliedMigrations(first.db)).toBe(journal.entries.length);
    await createTenant(first.db, "acme");
    await first.close();

    const second = await openDatabase(test.options);
    open.push(second);
    expect(await appliedMigrations(second.db)).toBe(journal.entries.length);
    expect(await findTenantByName(second.db, "acme")).toMatchObject({ name: "acme", quotas: {} });
  });

  it("returns timestamps as Dates and JSON as objects", async () => {
    test = await createTestDatabase(driver);
    const database = await openDatabase(test.options);
    open.push(database);
    const before = Date.now();
    const tenant = await createTenant(database.db, "clock");
    expect(tenant.createdAt).toBeInstanceOf(Date);
    // The database clock and ours agree to well within a minute on one machine.
    expect(Math.abs(tenant.createdAt.getTime() - before)).toBeLessThan(60_000);
    const again = await findTenantByName(database.db, "clock");
    expect(again?.createdAt.getTime()).toBe(tenant.createdAt.getTime());
  });

  it("delivers NOTIFY to a listener until it stops listening", async () => {
    test = await createTestDatabase(driver);
    const database = await openDatabase(test.options);
    open.push(database);
    const heard: (string | undefined)[] = [];
    const unlisten = await database.listen("isle_test_channel", (payload) => heard.push(payload));
    // On Postgres the listening session connects in the background: notify until it hears.
    await expect
      .poll(async () => {
        await database.db.execute(sql`select pg_notify('isle_test_channel', 'hello')`);
        return heard;
      })
      .toContain("hello");
    await unlisten();
    heard.length = 0;
    await database.db.execute(sql`select pg_notify('isle_test_channel', 'after')`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).toEqual([]);
    await expect(database.listen("Not-An-Identifier", () => {})).rejects.toThrow(/channel name/);
  });

  it("can be closed twice", async () => {
    test = await createTestDatabase(driver);
    const database = await openDatabase(test.options);
    await database.close();
    await expect(database.close()).resolves.toBeUndefined();
  });
});

describe("openDatabase (postgres, several gateways starting together)", () => {
  it("applies migrations once while the others wait", async () => {
    const test = await createTestDatabase("postgres", { empty: true });
    try {
      const all = await Promise.all(Array.from({ length: 4 }, () => openDatabase(test.options)));
      try {
        for (const { db } of all) expect(await appliedMigrations(db)).toBe(journal.entries.length);
      } finally {
        await Promise.all(all.map((d) => d.close()));
      }
    } finally {
      await test.dispose();
    }
  });
});
