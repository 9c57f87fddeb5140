import { useEffect } from "preact/hooks";
import type { Api } from "../api.js";
import { ErrorBox, useLoad } from "../components/async.js";

/** How often the page re-reads: agents heartbeat every few seconds. */
const refreshMs = 3000;

/** The operator's agent nodes connected to this gateway, with their load as they last reported it. */
export function AgentsPage({ api }: { api: Api }) {
  const { data, error, reload } = useLoad(() => api.agents(), []);
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <main>
      <h1>Agent nodes</h1>
      <ErrorBox error={error} />
      {data && data.length === 0 ? <p>No agent is connected to this gateway.</p> : null}
      {data && data.length > 0 ? (
        <table class="agents">
          <thead>
            <tr>
              <th>Id</th>
              <th>Address</th>
              <th>State</th>
              <th>Load (in flight / capacity)</th>
              <th>workerd ready</th>
              <th>Functions loaded</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {data.map((a) => (
              <tr key={a.id} data-agent={a.id} class={a.healthy ? undefined : "failed"}>
                <td>
                  <code>{a.id}</code>
                </td>
                <td>
                  <code>{a.address}</code>
                </td>
                <td data-testid="agent-state">{a.draining ? "draining" : a.healthy ? "healthy" : "unhealthy"}</td>
                <td data-testid="agent-load">
                  <meter min={0} max={Math.max(1, a.capacity)} value={a.inFlight} /> {a.inFlight} / {a.capacity}
                </td>
                <td>{a.workerdReady}</td>
                <td>{a.loadedFunctions}</td>
                <td>{(a.lastSeenMsAgo / 1000).toFixed(1)} s ago</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
