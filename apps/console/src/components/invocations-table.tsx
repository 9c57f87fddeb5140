import { useEffect } from "preact/hooks";
import type { Api } from "../api.js";
import { href } from "../router.js";
import { ErrorBox, useLoad, when } from "./async.js";
import { Link } from "./link.js";

/** How often the table re-reads: records are written in batches, a moment after the answer. */
const refreshMs = 2000;

/** The function's recent invocations, newest first, each leading to its record. */
export function InvocationsTable({ api, tenant, fn, refresh }: { api: Api; tenant: string; fn: string; refresh: number }) {
  const { data, error, reload } = useLoad(() => api.invocations(tenant, fn), [tenant, fn, refresh]);
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section>
      <h2>Recent invocations</h2>
      <ErrorBox error={error} />
      {data && data.length === 0 ? <p>No invocations yet.</p> : null}
      {data && data.length > 0 ? (
        <table class="invocations">
          <thead>
            <tr>
              <th>Id</th>
              <th>Started</th>
              <th>Status</th>
              <th>HTTP</th>
              <th>Duration</th>
              <th>Trigger</th>
            </tr>
          </thead>
          <tbody>
            {data.map((inv) => (
              <tr key={inv.id} class={inv.status === "failed" ? "failed" : undefined}>
                <td>
                  <Link to={href({ page: "invocation", tenant, fn, id: inv.id })}>
                    <code>{inv.id}</code>
                  </Link>
                </td>
                <td>{when(inv.startedAt)}</td>
                <td>{inv.errorCode ? `${inv.status} (${inv.errorCode})` : inv.status}</td>
                <td>{inv.httpStatus ?? "–"}</td>
                <td>{inv.durationMs === null ? "–" : `${inv.durationMs} ms`}</td>
                <td>{inv.coldStart ? `${inv.trigger}, cold` : inv.trigger}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
