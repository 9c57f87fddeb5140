import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { ErrorBox, useLoad, when } from "../components/async.js";
import { ConfigNames } from "../components/config-names.js";
import { DeployForm } from "../components/deploy-form.js";
import { Deployments } from "../components/deployments.js";
import { FunctionStatsSection } from "../components/function-stats.js";
import { InvocationsTable } from "../components/invocations-table.js";
import { InvokeForm } from "../components/invoke-form.js";
import { Link } from "../components/link.js";
import { LogTail } from "../components/log-tail.js";
import { href } from "../router.js";
import { canReadSecrets, type Session } from "../session.js";

/** One function: its settings at a glance, its last 24 h, invoke and deploy forms, its invocations and versions. */
export function FunctionPage({ api, session, tenant, fn }: { api: Api; session: Session; tenant: string; fn: string }) {
  // Bumped after an invoke, a deploy or a rollback so the tables and the header re-read at once.
  const [changes, setChanges] = useState(0);
  const changed = () => setChanges((n) => n + 1);
  const { data, error } = useLoad(() => api.fn(tenant, fn), [tenant, fn, changes]);
  return (
    <main>
      <p class="crumbs">
        <Link to={href({ page: "functions", tenant })}>{tenant}</Link> / {fn}
      </p>
      <h1>{fn}</h1>
      <ErrorBox error={error} />
      {data ? (
        <dl class="facts">
          <dt>Visibility</dt>
          <dd>{data.visibility}</dd>
          <dt>Runtime</dt>
          <dd>{data.runtime}</dd>
          <dt>Active deployment</dt>
          <dd>
            <code data-testid="active-deployment">{data.activeDeploymentId ?? "none"}</code>
          </dd>
          <dt>Updated</dt>
          <dd>{when(data.updatedAt)}</dd>
        </dl>
      ) : null}
      <FunctionStatsSection api={api} tenant={tenant} fn={fn} refresh={changes} />
      <InvokeForm api={api} tenant={tenant} fn={fn} withKey={session.who.kind === "key"} onInvoked={changed} />
      {session.who.kind === "operator" || session.who.scopes.includes("deploy") || session.who.scopes.includes("admin") ? (
        <details class="deploy-template">
          <summary>Deploy a new version from source</summary>
          <DeployForm api={api} tenant={tenant} fn={fn} onDeployed={changed} />
        </details>
      ) : null}
      <InvocationsTable api={api} tenant={tenant} fn={fn} refresh={changes} />
      <LogTail api={api} tenant={tenant} fn={fn} />
      <Deployments api={api} tenant={tenant} fn={fn} refresh={changes} onChanged={changed} />
      {data ? <ConfigNames api={api} tenant={tenant} fn={data} canReadSecrets={canReadSecrets(session.who)} /> : null}
    </main>
  );
}
