import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { invocations, type Invocation } from "../schema/invocations.js";

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

/**
 * The tenant's invocation records, newest first, keyset-paginated on (started_at, id) so a
 * page stays correct while new records arrive. Returns one page and the cursor of the next
 * (undefined on the last page).
 */
export async function listInvocations(
  db: IsleDb,
  tenantId: string,
  filter: InvocationFilter,
): Promise<{ items: Invocation[]; next: InvocationCursor | undefined }> {
  const where: SQL[] = [eq(invocations.tenantId, tenantId)];
  if (filter.functionId !== undefined) where.push(eq(invocations.functionId, filter.functionId));
  if (filter.status !== undefined) where.push(eq(invocations.status, filter.status));
  if (filter.after) {
    const { startedAt, id } = filter.after;
    where.push(or(lt(invocations.startedAt, startedAt), and(eq(invocations.startedAt, startedAt), lt(invocations.id, id)))!);
  }
  const limit = Math.max(1, Math.min(500, filter.limit));
  // One more than asked tells whether another page exists without a count.
  const rows = await db
    .select()
    .from(invocations)
    .where(and(...where))
    .orderBy(desc(invocations.startedAt), desc(invocations.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : undefined };
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
