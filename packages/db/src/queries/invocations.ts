import { and, desc, eq, getTableColumns, lt, or, sql, type SQL } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { invocations, type Invocation, type InvocationCallback } from "../schema/invocations.js";

/** Where a page of invocations starts: strictly after this (startedAt, id), newest first. */
export interface InvocationCursor {
  startedAt: Date;
  id: string;
}

export interface InvocationFilter {
  functionId?: string | undefined;
  status?: string | undefined;
  after?: InvocationCursor | undefined;
  /** 1–500. */
  limit: number;
}

/** A record as lists carry it: everything but its logs (up to 64 KiB each) and its callback's outcome. */
export type InvocationSummary = Omit<Invocation, "logs" | "callback">;

const { logs: _logs, callback: _callback, ...summaryColumns } = getTableColumns(invocations);

/**
 * The tenant's invocation records without their logs, newest first, keyset-paginated on
 * (started_at, id) so a page stays correct while new records arrive. Returns one page and
 * the cursor of the next (undefined on the last page).
 */
export async function listInvocations(
  db: IsleDb,
  tenantId: string,
  filter: InvocationFilter,
): Promise<{ items: InvocationSummary[]; next: InvocationCursor | undefined }> {
  const where: SQL[] = [eq(invocations.tenantId, tenantId)];
  if (filter.functionId !== undefined) where.push(eq(invocations.functionId, filter.functionId));
  if (filter.status !== undefined) where.push(eq(invocations.status, filter.status));
  if (filter.after) where.push(olderThan(filter.after));
  const limit = Math.max(1, Math.min(500, filter.limit));
  const rows = await db
    .select(summaryColumns)
    .from(invocations)
    .where(and(...where))
    .orderBy(desc(invocations.startedAt), desc(invocations.id))
    .limit(limit + 1);
  return pageOf(rows, limit);
}

/** What a page of a function's output holds: each invocation's lines, newest invocation first. */
export interface InvocationLogsFilter {
  status?: string | undefined;
  /** Only invocations with a line whose message contains this, case-insensitively. */
  search?: string | undefined;
  after?: InvocationCursor | undefined;
  /** Invocations per page, 1–100. */
  limit: number;
}

/** One invocation's output, as a page of a function's logs carries it. */
export type InvocationOutput = Pick<Invocation, "id" | "status" | "startedAt" | "logs">;

/**
 * The output of one function of the tenant: its invocations that have any
 * (and, with `search`, a matching line), newest first, keyset-paginated on
 * (started_at, id) like {@link listInvocations}. The caller picks the
 * matching lines out of each.
 */
export async function listInvocationLogs(
  db: IsleDb,
  tenantId: string,
  functionId: string,
  filter: InvocationLogsFilter,
): Promise<{ items: InvocationOutput[]; next: InvocationCursor | undefined }> {
  const where: SQL[] = [eq(invocations.tenantId, tenantId), eq(invocations.functionId, functionId), sql`jsonb_array_length(${invocations.logs}) > 0`];
  if (filter.status !== undefined) where.push(eq(invocations.status, filter.status));
  if (filter.search !== undefined && filter.search !== "") {
    // strpos, not LIKE: the search text is matched as it is, % and _ included.
    where.push(
      sql`exists (select 1 from jsonb_array_elements(${invocations.logs}) as line where strpos(lower(line->>'message'), lower(${filter.search})) > 0)`,
    );
  }
  if (filter.after) where.push(olderThan(filter.after));
  const limit = Math.max(1, Math.min(100, filter.limit));
  const rows = await db
    .select({ id: invocations.id, status: invocations.status, startedAt: invocations.startedAt, logs: invocations.logs })
    .from(invocations)
    .where(and(...where))
    .orderBy(desc(invocations.startedAt), desc(invocations.id))
    .limit(limit + 1);
  return pageOf(rows, limit);
}

/** Records after `cursor` in the newest-first order. */
function olderThan({ startedAt, id }: InvocationCursor): SQL {
  return or(lt(invocations.startedAt, startedAt), and(eq(invocations.startedAt, startedAt), lt(invocations.id, id)))!;
}

/** A page from rows read one past `limit` (which tells whether another page exists without a count). */
function pageOf<T extends InvocationCursor>(rows: T[], limit: number): { items: T[]; next: InvocationCursor | undefined } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : undefined };
}

/**
 * Stores how an invocation's callback went on its record, unless the record already shows the
 * callback of a later attempt (a slow callback of a dead-lettered attempt finishing after the
 * callback of its API retry). False when nothing was written: no such record of the tenant
 * (deleted by retention, say), or a later callback's outcome is there.
 */
export async function saveInvocationCallback(db: IsleDb, tenantId: string, id: string, callback: InvocationCallback): Promise<boolean> {
  const rows = await db
    .update(invocations)
    .set({ callback })
    .where(
      and(
        eq(invocations.tenantId, tenantId),
        eq(invocations.id, id),
        sql`(${invocations.callback} is null or (${invocations.callback}->>'attempt')::int <= ${callback.attempt})`,
      ),
    )
    .returning({ id: invocations.id });
  return rows.length > 0;
}

/** One of the tenant's invocation records. */
export async function findInvocation(db: IsleDb, tenantId: string, id: string): Promise<Invocation | undefined> {
  const [row] = await db
    .select()
    .from(invocations)
    .where(and(eq(invocations.tenantId, tenantId), eq(invocations.id, id)))
    .limit(1);
  return row;
}
