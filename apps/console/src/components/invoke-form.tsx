import { useState } from "preact/hooks";
import { invokePath, type Api, type InvokeResult } from "../api.js";
import { curlCommand, newTraceparent } from "../curl.js";
import { href } from "../router.js";
import { describe } from "./async.js";
import { Link } from "./link.js";

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** Enough of a response body to read; the rest is cut so a large answer cannot stall the page. */
const shownBodyChars = 10_000;

/** Calls the function from the browser and shows the answer and the equivalent `curl`. */
export function InvokeForm({ api, tenant, fn, withKey, onInvoked }: { api: Api; tenant: string; fn: string; withKey: boolean; onInvoked: () => void }) {
  const [method, setMethod] = useState<string>("GET");
  const [path, setPath] = useState("/");
  const [body, setBody] = useState("");
  const [result, setResult] = useState<InvokeResult & { traceId: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const url = `${location.origin}${invokePath(tenant, fn, path)}`;

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const { traceparent, traceId } = newTraceparent();
    try {
      const answer = await api.invoke(tenant, fn, { method, path, body, sendKey: withKey, traceparent });
      setResult({ ...answer, traceId });
      onInvoked();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h2>Invoke</h2>
      <form class="invoke" onSubmit={submit}>
        <select name="method" value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
          {methods.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
        <input name="path" value={path} onInput={(e) => setPath(e.currentTarget.value)} aria-label="path and query" />
        <button type="submit" disabled={busy}>
          Invoke
        </button>
        {method !== "GET" ? (
          <textarea name="body" rows={4} value={body} onInput={(e) => setBody(e.currentTarget.value)} aria-label="request body" />
        ) : null}
      </form>
      <pre class="curl" data-testid="curl">
        {curlCommand(url, { method, body, withKey })}
      </pre>
      {withKey ? null : <p class="hint">The operator token cannot invoke: a private function answers 401 here.</p>}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {result ? (
        <div class="result" data-testid="invoke-result">
          <p>
            <strong data-testid="invoke-status">{result.status}</strong> {result.contentType ?? ""} · trace <code>{result.traceId}</code>
            {result.invocationId ? (
              <>
                {" · "}
                <Link to={href({ page: "invocation", tenant, fn, id: result.invocationId })}>
                  <code>{result.invocationId}</code>
                </Link>
              </>
            ) : null}
          </p>
          <pre data-testid="invoke-body">{result.body.length > shownBodyChars ? `${result.body.slice(0, shownBodyChars)}…` : result.body}</pre>
        </div>
      ) : null}
    </section>
  );
}
