import type { Api, TenantStats } from "../api.js";
import { errorRate } from "../chart.js";
import { ErrorBox, useLoad, when } from "../components/async.js";
import { DeployForm } from "../components/deploy-form.js";
import { Link } from "../components/link.js";
import { href, navigate } from "../router.js";
import { canManageKeys, seesWholeTenant, type Session } from "../session.js";

/**
 * A tenant's functions: name, visibility, runtime, active deployment, last update, and — from a
 * gateway with the stats route — requests and error rate over 24 h.
 */
export function Functions({ api, session, tenant }: { api: Api; session: Session; tenant: string }) {
  const { data, error } = useLoad(() => api.functions(tenant), [tenant]);
  // A key restricted to one function may not read tenant-wide numbers: it is not asked for them.
  const wholeTenant = seesWholeTenant(session.who);
  const stats = useLoad(() => (wholeTenant ? api.tenantStats(tenant, 24) : Promise.resolve(null)), [tenant, wholeTenant]);
  const byName = stats.data ? new Map(stats.data.functions.map((f) => [f.name, f])) : undefined;
  const mayDeploy = session.who.kind === "operator" || session.who.scopes.includes("deploy") || session.who.scopes.includes("admin");
  return (
    <main>
      <h1>Functions of {tenant}</h1>
      {canManageKeys(session.who) ? (
        <p>
          <Link to={href({ page: "keys", tenant })}>API keys of {tenant}</Link>
        </p>
      ) : null}
      <ErrorBox error={error ?? (stats.error ? `stats: ${stats.error}` : undefined)} />
      {data && data.length === 0 ? <p>No functions yet: deploy one below, with `isle deploy` or with `git push`.</p> : null}
      {data && data.length > 0 ? (
        <table class="functions">
          <thead>
            <tr>
              <th>Name</th>
              <th>Visibility</th>
              <th>Runtime</th>
              <th>Active deployment</th>
              <th>Updated</th>
              {byName ? (
                <>
                  <th>Requests (24 h)</th>
                  <th>Error rate</th>
                </>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {data.map((fn) => (
              <tr key={fn.id} data-function={fn.name}>
                <td>
                  <Link to={href({ page: "function", tenant, fn: fn.name })}>{fn.name}</Link>
                </td>
                <td>{fn.visibility}</td>
                <td>{fn.runtime}</td>
                <td>
                  <code>{fn.activeDeploymentId ?? "none"}</code>
                </td>
                <td>{when(fn.updatedAt)}</td>
                {byName ? <RateCells row={byName.get(fn.name)} /> : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {mayDeploy && wholeTenant ? (
        <details>
          <summary>New function from a template</summary>
          <DeployForm api={api} tenant={tenant} onDeployed={(_, fn) => navigate(href({ page: "function", tenant, fn }))} />
        </details>
      ) : null}
    </main>
  );
}

function RateCells({ row }: { row: TenantStats["functions"][number] | undefined }) {
  const requests = row?.requests ?? 0;
  const errors = row?.errors ?? 0;
  return (
    <>
      <td data-testid="requests-24h">{requests}</td>
      <td data-testid="error-rate-24h" class={errors > 0 ? "error" : undefined}>
        {errorRate(errors, requests)}
      </td>
    </>
  );
}
