// Isle on several "machines" for the cluster benchmarks: test/harness/cluster.ts (gateways and
// agent nodes each in a network namespace of their own, one Postgres database), loaded through
// tsx so the benchmarks run the very harness the e2e tests run. Needs root, like those tests.
import { register } from "tsx/esm/api";

export { machine } from "./machine.mjs";

register();
const { startIsleCluster } = await import("../../test/harness/cluster.ts");
/** The files of a test fixture function (test/fixtures/functions/<name>), path → source. */
export const { fixture } = await import("../../test/harness/fixtures.ts");

export const postgresUrl = process.env.ISLE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Starts a cluster of `gateways` gateways and `agents` agent nodes (the harness's defaults otherwise). */
export function startCluster({ gateways = 1, agents = 3, env } = {}) {
  return startIsleCluster({ gateways, agents, databaseUrl: postgresUrl, ...(env && { env }) });
}

/** Deploys a public function with the given scale settings through `gateway`'s management API. */
export async function deployPublic(gateway, tenant, fn, files, scale) {
  const res = await gateway.api.deploy(tenant, fn, files);
  if (res.status !== 201) throw new Error(`deploy ${tenant}/${fn}: ${res.status} ${await res.text()}`);
  await gateway.api.configure(tenant, fn, { visibility: "public", ...(scale && { scale }) });
}

/** A function's replica row: { replicas, updatedAtMs } (replicas 0 when it has none). */
export async function replicaRow(cluster, tenant, fn) {
  const rows = await cluster.query(
    `select r.replicas, extract(epoch from r.updated_at) * 1000 as updated_ms
       from function_replicas r join functions f on f.id = r.function_id join tenants t on t.id = f.tenant_id
      where t.name = $1 and f.name = $2`,
    [tenant, fn],
  );
  return rows[0] ? { replicas: Number(rows[0].replicas), updatedAtMs: Number(rows[0].updated_ms) } : { replicas: 0, updatedAtMs: NaN };
}

/** Per agent, the first invocation of a function the gateway placed there (started_at, ms) and how many it ran. */
export async function servedBy(cluster, tenant, fn, sinceMs = 0) {
  const rows = await cluster.query(
    `select i.agent_id, extract(epoch from min(i.started_at)) * 1000 as first_ms, count(*) as n
       from invocations i join functions f on f.id = i.function_id join tenants t on t.id = f.tenant_id
      where t.name = $1 and f.name = $2 and i.agent_id is not null and i.http_status = 200 and i.started_at >= to_timestamp($3 / 1000.0)
      group by i.agent_id`,
    [tenant, fn, sinceMs],
  );
  return new Map(rows.map((r) => [r.agent_id, { firstMs: Number(r.first_ms), count: Number(r.n) }]));
}
