import { and, asc, eq, inArray, isNull, lte, notInArray, or, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { newId } from "../ids.js";
import { functionSchedules, type FunctionScheduleRow } from "../schema/function-schedules.js";
import { functions } from "../schema/functions.js";
import { tenants } from "../schema/tenants.js";

const s = functionSchedules;

/** A schedule as the gateway stores it: defaults filled in, and its first tick worked out. */
export interface ScheduleInput {
  name: string;
  cron: string;
  timezone: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  enabled: boolean;
  /** The first tick after now, used when the schedule is new or its timing changed. */
  nextRunAt: Date | null;
}

/**
 * Replaces the function's schedules with `schedules`, in one transaction: others are deleted, the
 * given ones inserted or updated. A schedule whose cron, time zone and enabled flag did not change
 * keeps its next tick and any claim under way, so declaring the same schedules again (a CI run
 * applying isle.json) moves nothing; a new or retimed one starts at its `nextRunAt`, and a claim
 * under way on it can no longer move it on. The function must be the tenant's. Returns the stored
 * set, by name.
 */
export async function replaceSchedules(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  schedules: ScheduleInput[],
): Promise<FunctionScheduleRow[]> {
  return db.transaction(async (tx) => {
    const names = schedules.map((schedule) => schedule.name);
    await tx
      .delete(s)
      .where(and(eq(s.tenantId, tenantId), eq(s.functionId, functionId), names.length > 0 ? notInArray(s.name, names) : undefined));
    if (schedules.length > 0) {
      const sameTiming = sql`(${s.cron} = excluded.cron and ${s.timezone} = excluded.timezone and ${s.enabled} = excluded.enabled)`;
      await tx
        .insert(s)
        .values(schedules.map((schedule) => ({ id: newId("sch"), tenantId, functionId, ...schedule })))
        .onConflictDoUpdate({
          target: [s.functionId, s.name],
          set: {
            cron: sql`excluded.cron`,
            timezone: sql`excluded.timezone`,
            method: sql`excluded.method`,
            path: sql`excluded.path`,
            headers: sql`excluded.headers`,
            body: sql`excluded.body`,
            enabled: sql`excluded.enabled`,
            nextRunAt: sql`case when ${sameTiming} then ${s.nextRunAt} else excluded.next_run_at end`,
            claimedUntil: sql`case when ${sameTiming} then ${s.claimedUntil} else null end`,
            claims: sql`case when ${sameTiming} then ${s.claims} else ${s.claims} + 1 end`,
            updatedAt: sql`now()`,
          },
          setWhere: eq(s.tenantId, tenantId),
        });
    }
    return listSchedules(tx, tenantId, functionId);
  });
}

/** The function's schedules, by name. */
export async function listSchedules(db: IsleDb, tenantId: string, functionId: string): Promise<FunctionScheduleRow[]> {
  return db
    .select()
    .from(s)
    .where(and(eq(s.tenantId, tenantId), eq(s.functionId, functionId)))
    .orderBy(asc(s.name));
}

/** A due schedule one scheduler holds until `claimedUntil`, with what it needs to enqueue its tick. */
export interface ClaimedSchedule {
  id: string;
  tenantId: string;
  functionId: string;
  tenantName: string;
  functionName: string;
  /** False while the function has no active deployment: there is nothing to run. */
  deployed: boolean;
  name: string;
  cron: string;
  timezone: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  /** The due tick. */
  nextRunAt: Date;
  /** This claim's token, for {@link advanceSchedule}. */
  claims: number;
}

/**
 * Claims up to `limit` due schedules (their tick has come, and no live claim holds them) for
 * `leaseMs`, in one statement whose `FOR UPDATE SKIP LOCKED` lets any number of gateways claim at
 * once without two getting the same row. `now` is the database's clock, which every gateway
 * shares, for the missed-tick policy.
 */
export async function claimDueSchedules(db: IsleDb, options: { limit: number; leaseMs: number }): Promise<{ now: Date; claimed: ClaimedSchedule[] }> {
  const due = db
    .select({ id: s.id })
    .from(s)
    .where(and(lte(s.nextRunAt, sql`now()`), or(isNull(s.claimedUntil), lte(s.claimedUntil, sql`now()`))))
    .orderBy(asc(s.nextRunAt))
    .limit(options.limit)
    .for("update", { skipLocked: true });
  const rows = await db
    .update(s)
    .set({ claimedUntil: sql`now() + ${options.leaseMs} * interval '1 millisecond'`, claims: sql`${s.claims} + 1` })
    .where(inArray(s.id, due))
    .returning({
      id: s.id,
      tenantId: s.tenantId,
      functionId: s.functionId,
      name: s.name,
      cron: s.cron,
      timezone: s.timezone,
      method: s.method,
      path: s.path,
      headers: s.headers,
      body: s.body,
      nextRunAt: s.nextRunAt,
      claims: s.claims,
      nowMs: sql<number>`(extract(epoch from now()) * 1000)::float8`.mapWith(Number),
    });
  const now = new Date(rows[0]?.nowMs ?? Date.now());
  if (rows.length === 0) return { now, claimed: [] };
  const owners = await db
    .select({ functionId: functions.id, functionName: functions.name, tenantName: tenants.name, activeDeploymentId: functions.activeDeploymentId })
    .from(functions)
    .innerJoin(tenants, eq(tenants.id, functions.tenantId))
    .where(inArray(functions.id, [...new Set(rows.map((row) => row.functionId))]));
  const byFunction = new Map(owners.map((owner) => [owner.functionId, owner]));
  const claimed: ClaimedSchedule[] = [];
  for (const { nowMs: _, nextRunAt, ...row } of rows) {
    const owner = byFunction.get(row.functionId);
    // Deleted meanwhile (the cascade took the schedule too), or claimed with no tick: nothing to do.
    if (!owner || !nextRunAt) continue;
    claimed.push({ ...row, nextRunAt, tenantName: owner.tenantName, functionName: owner.functionName, deployed: owner.activeDeploymentId !== null });
  }
  return { now, claimed };
}

/**
 * Ends a claim: the schedule's next tick becomes `nextRunAt`, and the tick just enqueued (if any)
 * is remembered. Only while the claim is still the latest (`claims`): false when it expired and
 * another scheduler claimed the row, or the schedule was retimed or deleted meanwhile.
 */
export async function advanceSchedule(
  db: IsleDb,
  advance: { id: string; claims: number; nextRunAt: Date | null; ran?: { at: Date; invocationId: string } },
): Promise<boolean> {
  const rows = await db
    .update(s)
    .set({
      nextRunAt: advance.nextRunAt,
      claimedUntil: null,
      ...(advance.ran ? { lastRunAt: advance.ran.at, lastInvocationId: advance.ran.invocationId } : {}),
    })
    .where(and(eq(s.id, advance.id), eq(s.claims, advance.claims)))
    .returning({ id: s.id });
  return rows.length > 0;
}
