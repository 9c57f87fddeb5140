import { sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import type { NewInvocation } from "../schema/invocations.js";

/** Columns a record sets; the rest (logs) take their defaults. */
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
] as const;

/**
 * Writes many invocation records in one statement with one parameter: the
 * rows as a JSON array, expanded by `json_populate_recordset`. On embedded
 * PGlite this costs about a quarter of a multi-row VALUES insert with 14
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
    })),
  );
  const list = sql.raw(columns.join(", "));
  await db.execute(
    sql`insert into invocations (${list}) select ${list} from json_populate_recordset(null::invocations, ${json}::json) on conflict (id) do nothing`,
  );
}
