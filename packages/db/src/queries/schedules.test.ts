import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../client.js";
import { functionSchedules } from "../schema/function-schedules.js";
import { createTestDatabase, drivers, type TestDatabase } from "../test-support/databases.js";
import { deleteFunction, upsertFunction } from "./functions.js";
import { advanceSchedule, claimDueSchedules, listSchedules, replaceSchedules, type ScheduleInput } from "./schedules.js";
import { createTenant, deleteTenant } from "./tenants.js";

const spec = (name: string, over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  name,
  cron: "* * * * *",
  timezone: "UTC",
  method: "POST",
  path: "/",
  headers: {},
  body: null,
  enabled: true,
  nextRunAt: new Date("2099-01-01T00:00:00Z"),
  ...over,
});
const past = (ms: number) => new Date(Date.now() - ms);

describe.each(drivers)("function schedules (%s)", (driver) => {
  let test: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    test = await createTestDatabase(driver);
    database = await openDatabase(test.options);
  });
  afterAll(async () => {
    await database?.close();
    await test?.dispose();
  });

  /** A fresh tenant and function, so each test claims only its own rows. */
  async function owner(name: string) {
    const tenant = await createTenant(database.db, name);
    const fn = await upsertFunction(database.db, tenant.id, "cron", {});
    return { tenant, fn };
  }
  /** Drops every schedule's claim-worthiness except the owner's (claims see all rows). */
  async function only(functionId: string) {
    await database.db.execute(sql`update function_schedules set next_run_at = null where function_id <> ${functionId}`);
  }

  it("replaces the set: keeps the next tick of an unchanged timing, restarts a changed one, deletes the rest", async () => {
    const { tenant, fn } = await owner("replace");
    const first = await replaceSchedules(database.db, tenant.id, fn.id, [
      spec("keep", { nextRunAt: new Date("2030-01-01T00:00:00Z") }),
      spec("retime", { nextRunAt: new Date("2030-01-01T00:00:00Z") }),
      spec("drop"),
    ]);
    expect(first.map((s) => s.name)).toEqual(["drop", "keep", "retime"]);
    const again = await replaceSchedules(database.db, tenant.id, fn.id, [
      spec("keep", { path: "/new", nextRunAt: new Date("2031-01-01T00:00:00Z") }),
      spec("retime", { cron: "*/5 * * * *", nextRunAt: new Date("2031-01-01T00:00:00Z") }),
      spec("added", { enabled: false, nextRunAt: null }),
    ]);
    const byName = Object.fromEntries(again.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(["added", "keep", "retime"]);
    expect(byName.keep).toMatchObject({ id: first[1]!.id, path: "/new", nextRunAt: new Date("2030-01-01T00:00:00Z"), claims: 0 });
    expect(byName.retime).toMatchObject({ id: first[2]!.id, cron: "*/5 * * * *", nextRunAt: new Date("2031-01-01T00:00:00Z"), claims: 1 });
    expect(byName.added).toMatchObject({ enabled: false, nextRunAt: null });
    expect(await replaceSchedules(database.db, tenant.id, fn.id, [])).toEqual([]);
  });

  it("never touches another tenant's schedules", async () => {
    const mine = await owner("mine");
    const theirs = await owner("theirs");
    await replaceSchedules(database.db, theirs.tenant.id, theirs.fn.id, [spec("job")]);
    // Another tenant's function id under my tenant: nothing of theirs is deleted or overwritten.
    await expect(replaceSchedules(database.db, mine.tenant.id, theirs.fn.id, [])).resolves.toEqual([]);
    await replaceSchedules(database.db, mine.tenant.id, theirs.fn.id, [spec("job", { path: "/hijack" })]);
    expect(await listSchedules(database.db, theirs.tenant.id, theirs.fn.id)).toEqual([expect.objectContaining({ name: "job", path: "/" })]);
  });

  it("goes with its function and with its tenant", async () => {
    const { tenant, fn } = await owner("cascade");
    await replaceSchedules(database.db, tenant.id, fn.id, [spec("a")]);
    const other = await upsertFunction(database.db, tenant.id, "other", {});
    await replaceSchedules(database.db, tenant.id, other.id, [spec("b")]);
    await deleteFunction(database.db, tenant.id, "cron");
    expect(await listSchedules(database.db, tenant.id, fn.id)).toEqual([]);
    expect(await listSchedules(database.db, tenant.id, other.id)).toHaveLength(1);
    expect(await deleteTenant(database.db, tenant.id)).toBe(true);
    const left = await database.db.select().from(functionSchedules).where(eq(functionSchedules.tenantId, tenant.id));
    expect(left).toEqual([]);
  });

  it("claims due schedules only, holds them for the lease, and gives them again once it expires", async () => {
    const { tenant, fn } = await owner("claims");
    await replaceSchedules(database.db, tenant.id, fn.id, [
      spec("due", { nextRunAt: past(1000), path: "/due?x=1", headers: { "x-a": "1" }, body: "hi" }),
      spec("later", { nextRunAt: new Date(Date.now() + 60_000) }),
      spec("off", { enabled: false, nextRunAt: null }),
    ]);
    await only(fn.id);
    const first = await claimDueSchedules(database.db, { limit: 10, leaseMs: 300 });
    expect(first.claimed).toEqual([
      expect.objectContaining({ name: "due", tenantName: "claims", functionName: "cron", deployed: false, path: "/due?x=1", headers: { "x-a": "1" }, body: "hi", claims: 1 }),
    ]);
    expect(Math.abs(first.now.getTime() - Date.now())).toBeLessThan(5000);
    expect((await claimDueSchedules(database.db, { limit: 10, leaseMs: 300 })).claimed).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    const second = await claimDueSchedules(database.db, { limit: 10, leaseMs: 300 });
    expect(second.claimed.map((c) => [c.name, c.claims])).toEqual([["due", 2]]);
    // The expired claim cannot move the schedule on; the live one can.
    const next = new Date(Date.now() + 60_000);
    expect(await advanceSchedule(database.db, { id: first.claimed[0]!.id, claims: 1, nextRunAt: next })).toBe(false);
    const ran = { at: first.claimed[0]!.nextRunAt, invocationId: "inv_1" };
    expect(await advanceSchedule(database.db, { id: second.claimed[0]!.id, claims: 2, nextRunAt: next, ran })).toBe(true);
    const [row] = (await listSchedules(database.db, tenant.id, fn.id)).filter((s) => s.name === "due");
    expect(row).toMatchObject({ nextRunAt: next, claimedUntil: null, lastRunAt: ran.at, lastInvocationId: "inv_1" });
  });

  it("a retimed schedule cannot be moved on by a claim taken before", async () => {
    const { tenant, fn } = await owner("retimed");
    await replaceSchedules(database.db, tenant.id, fn.id, [spec("job", { nextRunAt: past(1000) })]);
    await only(fn.id);
    const [claim] = (await claimDueSchedules(database.db, { limit: 10, leaseMs: 30_000 })).claimed;
    const retimedTo = new Date("2040-01-01T00:00:00Z");
    await replaceSchedules(database.db, tenant.id, fn.id, [spec("job", { cron: "0 * * * *", nextRunAt: retimedTo })]);
    expect(await advanceSchedule(database.db, { id: claim!.id, claims: claim!.claims, nextRunAt: new Date("2030-01-01T00:00:00Z") })).toBe(false);
    expect((await listSchedules(database.db, tenant.id, fn.id))[0]).toMatchObject({ nextRunAt: retimedTo, claimedUntil: null });
  });

  it("never hands one schedule to two claims running at once, from two connection pools", async () => {
    const { tenant, fn } = await owner("race");
    const count = 40;
    await replaceSchedules(database.db, tenant.id, fn.id, Array.from({ length: count }, (_, i) => spec(`s${i}`, { nextRunAt: past(1000) })));
    await only(fn.id);
    // PGlite has one owner: both "gateways" share its one connection, which serialises them.
    const other = driver === "postgres" ? await openDatabase(test.options) : database;
    try {
      const rounds = await Promise.all(
        Array.from({ length: 16 }, (_, i) => claimDueSchedules((i % 2 ? other : database).db, { limit: 4, leaseMs: 30_000 })),
      );
      const ids = rounds.flatMap((r) => r.claimed.map((c) => c.id));
      expect(ids.length).toBeGreaterThan(0);
      expect(new Set(ids).size).toBe(ids.length);
      // Whatever was not claimed in the rush is still there for the next claim, once.
      const rest = (await claimDueSchedules(database.db, { limit: count, leaseMs: 30_000 })).claimed.map((c) => c.id);
      expect(new Set([...ids, ...rest]).size).toBe(count);
      expect(ids.length + rest.length).toBe(count);
    } finally {
      if (other !== database) await other.close();
    }
  });
});
