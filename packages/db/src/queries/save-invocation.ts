import { sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { invocations, type NewInvocation } from "../schema/invocations.js";

/**
 * Writes an async invocation's record at once (not batched): inserted when it is accepted
 * (status `queued`, attempt 0) and overwritten as each attempt starts and ends. A write for an
 * earlier attempt than the stored one changes nothing, so a late write of a delivery that
 * overran its lease, or the accept-time row landing after the first attempt started, cannot
 * hide the newer state. The row's logs are those of the attempt it describes.
 */
export async function saveInvocation(db: IsleDb, row: NewInvocation): Promise<void> {
  await db
    .insert(invocations)
    .values(row)
    .onConflictDoUpdate({
      target: invocations.id,
      set: {
        deploymentId: sql`excluded.deployment_id`,
        agentId: sql`excluded.agent_id`,
        status: sql`excluded.status`,
        httpStatus: sql`excluded.http_status`,
        attempt: sql`excluded.attempt`,
        coldStart: sql`excluded.cold_start`,
        errorCode: sql`excluded.error_code`,
        startedAt: sql`excluded.started_at`,
        durationMs: sql`excluded.duration_ms`,
        traceId: sql`excluded.trace_id`,
        // The output of the attempt the row now describes: a new attempt starts afresh; the same
        // attempt's end keeps what was appended meanwhile (waitUntil output that raced it), after
        // the trailer's lines.
        logs: sql`excluded.logs || case when ${invocations.attempt} = excluded.attempt then ${invocations.logs} else '[]'::jsonb end`,
      },
      setWhere: sql`${invocations.attempt} <= excluded.attempt`,
    });
}
