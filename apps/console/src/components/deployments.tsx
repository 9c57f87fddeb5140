import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { describe, ErrorBox, useLoad, when } from "./async.js";

/** The function's versions, newest first; any other ready version can be made active (rollback). */
export function Deployments({ api, tenant, fn, refresh, onChanged }: { api: Api; tenant: string; fn: string; refresh: number; onChanged: () => void }) {
  const { data, error } = useLoad(() => api.deployments(tenant, fn), [tenant, fn, refresh]);
  const [actionError, setActionError] = useState<string>();
  const [busy, setBusy] = useState<string>();

  async function activate(id: string) {
    setBusy(id);
    setActionError(undefined);
    try {
      await api.activate(tenant, fn, id);
      onChanged(); // bumps `refresh`, which re-reads this table too
    } catch (err) {
      setActionError(describe(err));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <section>
      <h2>Deployments</h2>
      <ErrorBox error={error ?? actionError} />
      {data && data.length > 0 ? (
        <table class="deployments">
          <thead>
            <tr>
              <th>Version</th>
              <th>Id</th>
              <th>Created</th>
              <th>Source</th>
              <th>Message</th>
              <th>Serving</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.id} data-version={d.version} class={d.active ? "active" : undefined}>
                <td>v{d.version}</td>
                <td>
                  <code>{d.id}</code>
                </td>
                <td>{when(d.createdAt)}</td>
                <td>{d.branch ? `${d.source} ${d.branch}@${(d.commit ?? "").slice(0, 8)}` : d.source}</td>
                <td>{d.message ?? ""}</td>
                <td>{d.active ? "active" : d.trafficPercent > 0 ? `${d.trafficPercent}%` : ""}</td>
                <td>
                  {d.active || d.status !== "ready" ? null : (
                    <button type="button" disabled={busy !== undefined} onClick={() => void activate(d.id)}>
                      {data.findIndex((x) => x.active) < data.indexOf(d) ? "Roll back to this" : "Activate"}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : data ? (
        <p>No deployments yet.</p>
      ) : null}
    </section>
  );
}
