import { sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { inProgressStatuses } from "./expire-invocations.js";

/** A time window cut into equal buckets: [from, from + buckets × bucketSeconds). */
export interface StatsWindow {
  from: Date;
  bucketSeconds: number;
  /** 1 or more. */
  buckets: number;
}

/** Requests, errors and latency percentiles of some records; percentiles are null without requests. */
export interface StatsFigures {
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** One bucket of a window: its figures and where it starts. */
export interface StatsBucket extends StatsFigures {
  start: Date;
}

export interface FunctionStats {
  totals: StatsFigures;
  /** Every bucket of the window, oldest first, empty ones included. */
  buckets: StatsBucket[];
}

/** Raw statements answer `{ rows }` on both drivers (node-postgres' QueryResult, PGlite's Results). */
type Rows<T> = { rows: T[] };

/**
 * Records that count: those that ended. An async invocation still queued, running or retrying
 * will be written again with its outcome; counting it now would show it as an error.
 */
const ended = (status: string) => sql`${sql.raw(status)} not in (${sql.join(
  inProgressStatuses.map((s) => sql`${s}`),
  sql`, `,
)})`;

/**
 * One function's requests, errors (any ended record not `succeeded`) and p50/p95 of
 * `duration_ms` over a window, in total and per bucket, in one statement: the buckets come from
 * `generate_series`, the records are left-joined to the bucket they started in, and
 * `grouping sets` adds the total row (the one whose bucket is null). Reads the records on
 * `invocations_tenant_function_started_idx`.
 */
export async function functionStats(db: IsleDb, tenantId: string, functionId: string, window: StatsWindow): Promise<FunctionStats> {
  const from = window.from.toISOString();
  const to = new Date(window.from.getTime() + window.buckets * window.bucketSeconds * 1000).toISOString();
  const result = (await db.execute(sql`
    with records as (
      select floor(extract(epoch from (started_at - ${from}::timestamptz)) / ${window.bucketSeconds})::int as bucket,
             status, duration_ms
        from invocations
       where tenant_id = ${tenantId} and function_id = ${functionId}
         and started_at >= ${from}::timestamptz and started_at < ${to}::timestamptz
         and ${ended("status")}
    )
    select b.bucket,
           count(r.bucket)::int as requests,
           (count(r.bucket) filter (where r.status <> 'succeeded'))::int as errors,
           percentile_cont(0.5) within group (order by r.duration_ms) as p50,
           percentile_cont(0.95) within group (order by r.duration_ms) as p95
      from generate_series(0, ${window.buckets - 1}::int) as b(bucket)
      left join records r on r.bucket = b.bucket
     group by grouping sets ((b.bucket), ())
  `)) as unknown as Rows<{ bucket: number | null; requests: number; errors: number; p50: number | string | null; p95: number | string | null }>;

  const figures = (row: (typeof result.rows)[number] | undefined): StatsFigures => ({
    requests: Number(row?.requests ?? 0),
    errors: Number(row?.errors ?? 0),
    p50Ms: row?.p50 == null ? null : Number(row.p50),
    p95Ms: row?.p95 == null ? null : Number(row.p95),
  });
  const byBucket = new Map(result.rows.filter((r) => r.bucket !== null).map((r) => [Number(r.bucket), r]));
  return {
    totals: figures(result.rows.find((r) => r.bucket === null)),
    buckets: Array.from({ length: window.buckets }, (_, i) => ({
      start: new Date(window.from.getTime() + i * window.bucketSeconds * 1000),
      ...figures(byBucket.get(i)),
    })),
  };
}

/** One function's requests and errors over a window. */
export interface FunctionActivity {
  name: string;
  requests: number;
  errors: number;
}

/**
 * Requests and errors of every function of the tenant over [from, to), by name; functions
 * without records there have zeros. One statement: functions left-joined to their ended records.
 */
export async function tenantActivity(db: IsleDb, tenantId: string, from: Date, to: Date): Promise<FunctionActivity[]> {
  const result = (await db.execute(sql`
    select f.name,
           count(i.id)::int as requests,
           (count(i.id) filter (where i.status <> 'succeeded'))::int as errors
      from functions f
      left join invocations i
        on i.tenant_id = f.tenant_id and i.function_id = f.id
       and i.started_at >= ${from.toISOString()}::timestamptz and i.started_at < ${to.toISOString()}::timestamptz
       and ${ended("i.status")}
     where f.tenant_id = ${tenantId}
     group by f.name
     order by f.name
  `)) as unknown as Rows<{ name: string; requests: number; errors: number }>;
  return result.rows.map((r) => ({ name: r.name, requests: Number(r.requests), errors: Number(r.errors) }));
}
