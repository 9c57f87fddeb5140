import { sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import type { InvocationLogLine, NewInvocation } from "../schema/invocations.js";

/** Columns a record sets. */
const columns = [
  "id",
  "tenant_id",
  "function_id",
  "deployment_id",
  "agent_id",
  "mode",
  "trigger",
  "status",
  "http_status",
  "attempt",
  "cold_start",
  "error_code",
  "started_at",
  "duration_ms",
  "logs",
  "trace_id",
] as const;

/**
 * Writes many invocation records in one statement with one parameter: the
 * rows as a JSON array, expanded by `json_populate_recordset`. On embedded
 * PGlite this costs about a quarter of a multi-row VALUES insert with 15
 * parameters per row (≈ 40 µs instead of ≈ 160 µs of gateway CPU per row),
 * which matters because every invocation writes one.
 */
export async function recordInvocations(db: IsleDb, rows: NewInvocation[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(
    rows.map((r) => ({
      id: r.id,
      tenant_id: r.tenantId,
      function_id: r.functionId,
      deployment_id: r.deploymentId ?? null,
      agent_id: r.agentId ?? null,
      mode: r.mode,
      trigger: r.trigger ?? "http",
      status: r.status,
      http_status: r.httpStatus ?? null,
      attempt: r.attempt ?? 1,
      cold_start: r.coldStart ?? false,
      error_code: r.errorCode ?? null,
      started_at: r.startedAt.toISOString(),
      duration_ms: r.durationMs ?? null,
      logs: r.logs ?? [],
      trace_id: r.traceId ?? null,
    })),
  );
  const list = sql.raw(columns.join(", "));
  await db.execute(
    sql`insert into invocations (${list}) select ${list} from json_populate_recordset(null::invocations, ${json}::json) on conflict (id) do nothing`,
  );
}

/** Lines to add to the end of one record's logs. */
export interface LogAppend {
  tenantId: string;
  id: string;
  lines: InvocationLogLine[];
}

/** A record whose logs grew, as its followers need to see the new lines. */
export interface AppendedRecord {
  tenantId: string;
  id: string;
  functionId: string;
  status: string;
}

/**
 * Appends lines to records already written (output of `waitUntil` work that
 * came after the record), one statement for the lot. A line only ever joins
 * the record of the tenant it came with: the update matches id and tenant.
 * Returns the records it changed; ids must be distinct.
 */
export async function appendInvocationLogs(db: IsleDb, appends: LogAppend[]): Promise<AppendedRecord[]> {
  if (appends.length === 0) return [];
  const json = JSON.stringify(appends.map((a) => ({ id: a.id, tenant_id: a.tenantId, lines: a.lines })));
  // Both drivers answer a raw statement with `{ rows }` (node-postgres' QueryResult, PGlite's Results).
  const result = (await db.execute(
    sql`update invocations as i set logs = i.logs || u.lines
        from json_to_recordset(${json}::json) as u(id text, tenant_id text, lines jsonb)
        where i.id = u.id and i.tenant_id = u.tenant_id
        returning i.id, i.tenant_id, i.function_id, i.status`,
  )) as unknown as { rows: Array<{ id: string; tenant_id: string; function_id: string; status: string }> };
  return result.rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, functionId: r.function_id, status: r.status }));
}
