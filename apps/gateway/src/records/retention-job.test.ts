import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  advisoryLockKeys,
  createTenant,
  openDatabase,
  recordInvocations,
  schema,
  updateTenantQuotas,
  type Database,
  type NewInvocation,
} from "@isle/db";
import { drivers, openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { createLogger } from "@isle/telemetry";
import { RecordRetentionJob, type RecordRetentionOptions } from "./retention-job.js";

const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const hour = 3_600_000;
const now = Date.parse("2026-03-10T12:00:00Z");

describe.each(drivers)("RecordRetentionJob (%s)", (driver) => {
  let opened: OpenTestDatabase;
  const db = () => opened.database.db;
  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(() => opened?.dispose());
  // Every test starts without tenants (their records go with them).
  afterEach(async () => {
    await db().delete(schema.tenants);
  });

  const job = (options: Partial<RecordRetentionOptions> = {}, database: Database = opened.database) =>
    new RecordRetentionJob({ database, defaultHours: 24, logger, now: () => now, ...options });

  /** A tenant, its retention override (if any), and records that started `hoursAgo` with a status each. */
  async function tenantWith(name: string, retentionHours: number | undefined, records: Array<[id: string, hoursAgo: number, status?: string]>) {
    const tenant = await createTenant(db(), name);
    if (retentionHours !== undefined) await updateTenantQuotas(db(), tenant.id, { recordRetentionHours: retentionHours });
    const rows: NewInvocation[] = records.map(([id, hoursAgo, status = "succeeded"]) => ({
      id,
      tenantId: tenant.id,
      functionId: "fn_1",
      mode: status === "succeeded" ? "sync" : "async",
      status,
      startedAt: new Date(now - hoursAgo * hour),
    }));
    await recordInvocations(db(), rows);
    return tenant;
  }
  const ids = async () => (await db().select({ id: schema.invocations.id }).from(schema.invocations)).map((r) => r.id).sort();

  it("deletes records past the platform retention, keeps a tenant's longer override and a tenant's 'for ever'", async () => {
    await tenantWith("default", undefined, [["a-old", 25], ["a-new", 23]]);
    await tenantWith("longer", 72, [["b-old", 73], ["b-kept", 48]]);
    await tenantWith("forever", 0, [["c-kept", 10_000]]);
    const pass = await job().runOnce();
    expect(pass).toMatchObject({ ran: true, deleted: 2 });
    expect(await ids()).toEqual(["a-new", "b-kept", "c-kept"]);
  });

  it("keeps a record still queued, running or retrying for a day past its retention, then deletes it", async () => {
    await tenantWith("async", undefined, [
      ["queued", 30, "queued"],
      ["running", 30, "running"],
      ["retrying", 47, "retrying"],
      ["dead", 30, "dead"],
      ["failed", 30, "failed"],
      ["stuck", 49, "running"],
    ]);
    expect(await job().runOnce()).toMatchObject({ deleted: 3 });
    expect(await ids()).toEqual(["queued", "retrying", "running"]);
  });

  it("deletes a backlog in bounded batches: five rows, two at a time, in three statements", async () => {
    await tenantWith("backlog", undefined, [["o1", 30], ["o2", 31], ["o3", 32], ["o4", 33], ["o5", 34], ["kept", 1]]);
    const pass = await job({ batchSize: 2, pauseMs: 0 }).runOnce();
    expect(pass).toEqual({ ran: true, deleted: 5, statements: 3 });
    expect(await ids()).toEqual(["kept"]);
  });

  it("is harmless twice at once: every expired record deleted once, nothing else", async () => {
    // On Postgres from two pools, as two gateways; one usually finds the lock taken.
    const expired = Array.from({ length: 9 }, (_, i) => [`x${i}`, 25 + i] as [string, number]);
    await tenantWith("race", undefined, [...expired, ["kept", 2]]);
    const other = driver === "postgres" ? await openDatabase(opened.options) : opened.database;
    try {
      const passes = await Promise.all([job({ batchSize: 2, pauseMs: 0 }).runOnce(), job({ batchSize: 2, pauseMs: 0 }, other).runOnce()]);
      expect(passes[0].deleted + passes[1].deleted).toBe(9);
      expect(await ids()).toEqual(["kept"]);
    } finally {
      if (other !== opened.database) await other.close();
    }
  });

  // PGlite has one opener, so no other gateway can hold the lock there: registered on Postgres only.
  if (driver === "postgres") it("skips its pass while another gateway holds the lock", async () => {
    await tenantWith("locked", undefined, [["old", 30]]);
    const other = await openDatabase(opened.options);
    try {
      const held = await other.tryWithAdvisoryLock(advisoryLockKeys.recordRetention, () => job().runOnce());
      expect(held).toEqual({ acquired: true, value: { ran: false, deleted: 0, statements: 0 } });
      expect(await ids()).toEqual(["old"]);
      expect(await job({}, other).runOnce()).toMatchObject({ ran: true, deleted: 1 });
    } finally {
      await other.close();
    }
  });

  it("runs by itself after start, counts what it deleted, and stops between two statements", async () => {
    await tenantWith("timed", undefined, [["t1", 30], ["t2", 31], ["t3", 32], ["t4", 33]]);
    const counted: number[] = [];
    const timed = job({ firstAfterMs: 0, batchSize: 1, pauseMs: 60_000, onDeleted: (n) => counted.push(n) });
    timed.start();
    for (let i = 0; i < 500 && (await ids()).length > 3; i++) await new Promise((r) => setTimeout(r, 10));
    await timed.stop();
    // The first statement took the oldest; the pause after it was cut short, and no statement followed.
    expect(await ids()).toEqual(["t1", "t2", "t3"]);
    expect(counted).toEqual([1]);
  });
});
