import type { Api } from "../api.js";
import { ErrorBox, useLoad, when } from "../components/async.js";
import { Link } from "../components/link.js";
import { href } from "../router.js";

/** One invocation's record: how it went, and the lines the function wrote. */
export function InvocationPage({ api, tenant, fn, id }: { api: Api; tenant: string; fn: string; id: string }) {
  const { data, error, reload } = useLoad(() => api.invocation(tenant, id), [tenant, id]);
  return (
    <main>
      <p class="crumbs">
        <Link to={href({ page: "functions", tenant })}>{tenant}</Link> / <Link to={href({ page: "function", tenant, fn })}>{fn}</Link> / invocation
      </p>
      <h1>
        <code>{id}</code>
      </h1>
      <ErrorBox error={error} />
      {data ? (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd data-testid="invocation-status">{data.errorCode ? `${data.status} (${data.errorCode})` : data.status}</dd>
            <dt>Response status</dt>
            <dd data-testid="invocation-http-status">{data.httpStatus ?? "none"}</dd>
            <dt>Started</dt>
            <dd>{when(data.startedAt)}</dd>
            <dt>Duration</dt>
            <dd>{data.durationMs === null ? "–" : `${data.durationMs} ms`}</dd>
            <dt>Mode, trigger, attempt</dt>
            <dd>
              {data.mode}, {data.trigger}, {data.attempt}
              {data.coldStart ? ", cold start" : ""}
            </dd>
            <dt>Deployment</dt>
            <dd>
              <code>{data.deploymentId ?? "none"}</code>
            </dd>
            <dt>Agent</dt>
            <dd>
              <code>{data.agentId ?? "none"}</code>
            </dd>
            <dt>Trace id</dt>
            <dd data-testid="invocation-trace-id">
              {data.traceId ? <code>{data.traceId}</code> : data.traceId === null ? "none recorded" : "this gateway does not record trace ids (the invoke form shows the id of the calls it makes)"}
            </dd>
          </dl>
          <h2>
            Logs <button type="button" onClick={reload}>Refresh</button>
          </h2>
          {data.logs.length === 0 ? (
            <p>No output.</p>
          ) : (
            <table class="logs" data-testid="logs">
              <tbody>
                {data.logs.map((line, i) => (
                  <tr key={i} class={`level-${line.level}`}>
                    <td>{new Date(line.at).toLocaleTimeString()}</td>
                    <td>{line.level}</td>
                    <td>
                      <pre>{line.message}</pre>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </main>
  );
}
