import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTenant,
  findInvocation,
  functions,
  listSchedules,
  replaceSchedules,
  saveInvocation,
  upsertFunction,
  type ScheduleInput,
} from "@isle/db";
import { drivers, openTestDatabase, type OpenTestDatabase } from "@isle/db/testing";
import { JetStreamQueue, PgQueue, removeJetStreamQueue, type InvocationQueue, type QueueMessage } from "@isle/queue";
import { createLogger } from "@isle/telemetry";
import { eq, sql } from "drizzle-orm";
import type { AsyncPayload } from "../async/async-payload.js";
import { Scheduler, tickKey, type SchedulerDeps } from "./scheduler.js";

const spec = (name: string, over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  name,
  cron: "* * * * *",
  timezone: "UTC",
  method: "POST",
  path: "/",
  headers: {},
  body: null,
  enabled: true,
  nextRunAt: new Date(Date.now() - 500),
  ...over,
});

/** The machine's NATS server (scripts/services.sh starts it with JetStream). */
const machineNats = "nats://127.0.0.1:4222";

/**
 * A tick a moment ago, and a cron whose only tick that year it is: however slow the test, no later
 * tick becomes due meanwhile and takes its place (as a minute schedule's would at a minute's end).
 */
function recentTick() {
  const due = new Date(Math.floor(Date.now() / 1000) * 1000 - 2000);
  const cron = `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} ${due.getUTCDate()} ${due.getUTCMonth() + 1} *`;
  return { due, cron, nextYear: new Date(Date.UTC(due.getUTCFullYear() + 1, due.getUTCMonth(), due.getUTCDate(), due.getUTCHours(), due.getUTCMinutes(), due.getUTCSeconds())) };
}

/** A queue that stores nothing and counts what it is given, slowly enough for claims to overlap. */
function countingQueue(delayMs = 0) {
  const messages: QueueMessage[] = [];
  const queue: Pick<InvocationQueue, "enqueue"> = {
    async enqueue(message) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      messages.push(message);
      return { id: message.id, duplicate: false };
    },
  };
  return { queue, messages };
}

describe.each(drivers)("Scheduler (%s)", (driver) => {
  let opened: OpenTestDatabase;
  const logs: string[] = [];
  const logger = createLogger({
    service: "gateway",
    level: "debug",
    destination: new Writable({ write: (chunk, _e, done) => done(void logs.push(...String(chunk).split("\n").filter(Boolean))) }),
  });
  let ids = 0;
  const scheduler = (deps: Partial<SchedulerDeps> & Pick<SchedulerDeps, "queue">) =>
    new Scheduler({
      db: opened.database.db,
      saveRecord: (row) => saveInvocation(opened.database.db, row),
      logger,
      catchUpMs: 5 * 60_000,
      newId: () => `inv_test${++ids}`,
      ...deps,
    });

  beforeAll(async () => {
    opened = await openTestDatabase(driver);
  });
  afterAll(() => opened?.dispose());

  /** A tenant with one deployed function (the scheduler only checks that one is active). */
  async function deployedFunction(tenantName: string, deployed = true) {
    const { db } = opened.database;
    const tenant = await createTenant(db, tenantName);
    const fn = await upsertFunction(db, tenant.id, "job", {});
    if (deployed) await db.update(functions).set({ activeDeploymentId: "dep_test" }).where(eq(functions.id, fn.id));
    return { tenant, fn };
  }
  /** Leaves only this function's schedules due, so each test sees its own. */
  async function only(functionId: string) {
    await opened.database.db.execute(sql`update function_schedules set next_run_at = null where function_id <> ${functionId}`);
  }

  it("enqueues a due tick as one timer invocation with the schedule's request, records it queued, and moves on", async () => {
    const { tenant, fn } = await deployedFunction("one");
    const { due, cron, nextYear } = recentTick();
    const [stored] = await replaceSchedules(opened.database.db, tenant.id, fn.id, [
      spec("report", { cron, method: "PUT", path: "/jobs/report?full=1", headers: { "x-kind": "weekly" }, body: "go", nextRunAt: due }),
    ]);
    await only(fn.id);
    const { queue, messages } = countingQueue();
    expect(await scheduler({ queue, domain: "fn.example" }).runOnce()).toBe(1);

    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({ tenantId: tenant.id, functionId: fn.id, idempotencyKey: tickKey(stored!.id, due) });
    expect(message!.payload).toMatchObject({
      tenantName: "one",
      functionName: "job",
      method: "PUT",
      path: "/jobs/report",
      query: "?full=1",
      host: "job--one.fn.example",
      headers: [["x-kind", "weekly"]],
      body: Buffer.from("go").toString("base64"),
      trigger: "timer",
      schedule: { name: "report", scheduledAt: due.toISOString() },
    } satisfies Partial<AsyncPayload>);
    expect(await findInvocation(opened.database.db, tenant.id, message!.id)).toMatchObject({ mode: "async", trigger: "timer", status: "queued", attempt: 0 });
    const [after] = await listSchedules(opened.database.db, tenant.id, fn.id);
    expect(after).toMatchObject({ lastRunAt: due, lastInvocationId: message!.id, claimedUntil: null, nextRunAt: nextYear });
    // Nothing is due any more.
    expect(await scheduler({ queue }).runOnce()).toBe(0);
    expect(messages).toHaveLength(1);
  });

  it("two schedulers polling the same database never enqueue one tick twice", async () => {
    const { tenant, fn } = await deployedFunction("race");
    await replaceSchedules(
      opened.database.db,
      tenant.id,
      fn.id,
      Array.from({ length: 8 }, (_, i) => spec(`s${i}`, { cron: "* * * * * *" })),
    );
    await only(fn.id);
    // Slow enqueues keep each claim open while the other scheduler claims.
    const { queue, messages } = countingQueue(40);
    const gateways = [scheduler({ queue, pollMs: 100 }), scheduler({ queue, pollMs: 100 })];
    for (const gateway of gateways) gateway.start();
    await new Promise((r) => setTimeout(r, 3000));
    await Promise.all(gateways.map((gateway) => gateway.stop()));

    const ticks = messages.map((m) => m.idempotencyKey!);
    expect(ticks.length).toBeGreaterThanOrEqual(8 * 2);
    expect(ticks.length - new Set(ticks).size).toBe(0);
  });

  // The table queue on this database, and (once) JetStream on the machine's NATS server.
  const jetStreamName = `sched-${randomBytes(4).toString("hex")}`;
  const queues: Array<[string, () => InvocationQueue]> = [
    ["the table queue", () => new PgQueue({ database: opened.database, name: `sched-${randomBytes(4).toString("hex")}`, pollIntervalMs: 50 })],
    ...(driver === "pglite" ? [["JetStream", () => new JetStreamQueue({ url: machineNats, name: jetStreamName })] as [string, () => InvocationQueue]] : []),
  ];
  afterAll(async () => {
    if (driver === "pglite") await removeJetStreamQueue(machineNats, jetStreamName);
  });
  it.each(queues)("enqueues a tick again under the same key after its scheduler died before moving on, and %s keeps one", async (_name, open) => {
    const { tenant, fn } = await deployedFunction(`crash-${randomBytes(3).toString("hex")}`);
    const { due, cron } = recentTick();
    await replaceSchedules(opened.database.db, tenant.id, fn.id, [spec("job", { cron, nextRunAt: due })]);
    await only(fn.id);
    const real = open();
    try {
      // The first gateway stores the tick, then dies before it can move the schedule on.
      const dying: Pick<InvocationQueue, "enqueue"> = {
        async enqueue(message) {
          await real.enqueue(message);
          throw new Error("killed after the enqueue");
        },
      };
      await scheduler({ queue: dying, leaseMs: 300 }).runOnce();
      expect((await listSchedules(opened.database.db, tenant.id, fn.id))[0]!.nextRunAt).toEqual(due);
      // Another gateway takes over once the claim expires.
      expect(await scheduler({ queue: real, leaseMs: 300 }).runOnce()).toBe(0);
      await new Promise((r) => setTimeout(r, 400));
      expect(await scheduler({ queue: real, leaseMs: 300 }).runOnce()).toBe(1);

      // Exactly one invocation was stored: it is delivered once, and nothing follows.
      const delivered: string[] = [];
      const consumer = real.consume(async (delivery) => void delivered.push(delivery.id));
      await new Promise((r) => setTimeout(r, 1500));
      await consumer.stop({ drainMs: 1000 });
      expect(delivered).toHaveLength(1);
      const [after] = await listSchedules(opened.database.db, tenant.id, fn.id);
      expect(after).toMatchObject({ lastRunAt: due, lastInvocationId: delivered[0] });
      expect(after!.nextRunAt!.getTime()).toBeGreaterThan(due.getTime());
      expect(await findInvocation(opened.database.db, tenant.id, delivered[0]!)).toMatchObject({ trigger: "timer", status: "queued" });
    } finally {
      await real.close();
    }
  });

  it("after downtime runs the latest missed tick once within the catch-up window and logs how many it skipped", async () => {
    const { tenant, fn } = await deployedFunction("downtime");
    const minute = 60_000;
    // Down for ten minutes: the minute ticks since then were missed.
    const since = new Date(Math.floor(Date.now() / minute) * minute - 10 * minute);
    await replaceSchedules(opened.database.db, tenant.id, fn.id, [
      spec("often", { nextRunAt: since }),
      // A yearly tick two years overdue is far past any catch-up window.
      spec("yearly", { cron: "0 0 1 1 *", nextRunAt: new Date(since.getTime() - 2 * 366 * 24 * 60 * minute) }),
    ]);
    await only(fn.id);
    const { queue, messages } = countingQueue();
    logs.length = 0;
    expect(await scheduler({ queue }).runOnce()).toBe(2);

    expect(messages.map((m) => (m.payload as AsyncPayload).schedule!.name)).toEqual(["often"]);
    const ran = new Date((messages[0]!.payload as AsyncPayload).schedule!.scheduledAt);
    expect(Date.now() - ran.getTime()).toBeLessThan(minute + 5000);
    const skipped = logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === "missed schedule ticks skipped");
    expect(skipped.find((l) => l.schedule === "often")).toMatchObject({ tenantId: tenant.id, skipped: expect.stringMatching(/^(10|11)$/) });
    expect(skipped.find((l) => l.schedule === "yearly")).toMatchObject({ skipped: expect.stringMatching(/^[23]$/) });
    const byName = Object.fromEntries((await listSchedules(opened.database.db, tenant.id, fn.id)).map((s) => [s.name, s]));
    expect(byName.often!.nextRunAt!.getTime()).toBeGreaterThan(Date.now() - 1000);
    expect(byName.yearly).toMatchObject({ lastRunAt: null });
    expect(byName.yearly!.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it("skips the ticks of a function with nothing deployed, and leaves a tick the queue refused for later", async () => {
    const idle = await deployedFunction("idle", false);
    await replaceSchedules(opened.database.db, idle.tenant.id, idle.fn.id, [spec("job")]);
    await only(idle.fn.id);
    const { queue, messages } = countingQueue();
    expect(await scheduler({ queue }).runOnce()).toBe(1);
    expect(messages).toEqual([]);
    expect((await listSchedules(opened.database.db, idle.tenant.id, idle.fn.id))[0]!.nextRunAt!.getTime()).toBeGreaterThan(Date.now());

    const busy = await deployedFunction("refused");
    const { due, cron } = recentTick();
    await replaceSchedules(opened.database.db, busy.tenant.id, busy.fn.id, [spec("job", { cron, nextRunAt: due })]);
    await only(busy.fn.id);
    const down: Pick<InvocationQueue, "enqueue"> = { enqueue: async () => Promise.reject(new Error("queue unavailable")) };
    expect(await scheduler({ queue: down, leaseMs: 200 }).runOnce()).toBe(1);
    expect((await listSchedules(opened.database.db, busy.tenant.id, busy.fn.id))[0]).toMatchObject({ nextRunAt: due, lastRunAt: null });
    await new Promise((r) => setTimeout(r, 300));
    expect(await scheduler({ queue }).runOnce()).toBe(1);
    expect(messages.map((m) => (m.payload as AsyncPayload).schedule!.scheduledAt)).toEqual([due.toISOString()]);
  });
});
