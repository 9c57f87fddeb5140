import { and, asc, eq, inArray, lt, notInArray, or } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { invocations } from "../schema/invocations.js";

/** Statuses of an async invocation that has not finished: its record will be written again. */
export const inProgressStatuses = ["queued", "running", "retrying"] as const;

/** Which of one tenant's records one batch may delete. */
export interface ExpiredInvocations {
  tenantId: string;
  /** Records that started before this are expired… */
  before: Date;
  /** …except those still in progress, which expire only when they started before this (earlier). */
  inProgressBefore: Date;
  /** At most this many rows in the statement. */
  limit: number;
}

/**
 * Deletes up to `limit` of a tenant's expired invocation records, oldest first, in one
 * statement, and returns how many it deleted (fewer than `limit`: none are left). The rows are
 * picked on `invocations_tenant_started_idx` and locked `SKIP LOCKED`, so two cleaners at once
 * delete different rows rather than wait on each other, and a row another statement is writing
 * (a late log append) is left for the next pass.
 */
export async function deleteExpiredInvocations(db: IsleDb, batch: ExpiredInvocations): Promise<number> {
  const expired = db
    .select({ id: invocations.id })
    .from(invocations)
    .where(
      and(
        eq(invocations.tenantId, batch.tenantId),
        lt(invocations.startedAt, batch.before),
        or(notInArray(invocations.status, [...inProgressStatuses]), lt(invocations.startedAt, batch.inProgressBefore)),
      ),
    )
    .orderBy(asc(invocations.startedAt))
    .limit(batch.limit)
    .for("update", { skipLocked: true });
  const deleted = await db.delete(invocations).where(inArray(invocations.id, expired)).returning({ id: invocations.id });
  return deleted.length;
}
