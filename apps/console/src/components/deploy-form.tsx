import { useState } from "preact/hooks";
import type { Api, NewDeployment } from "../api.js";
import { describe } from "./async.js";

/** Where a new function starts: a hello world that also writes a log line, to see the logs work. */
export const helloTemplate = `export default {
  fetch(req) {
    console.log("hello from " + new URL(req.url).pathname);
    return new Response("hello");
  },
};
`;

/**
 * A source box deployed as the function's `index.ts` (the same multipart upload as `isle
 * deploy`). With no `fn`, it asks for a name and creates the function.
 */
export function DeployForm({ api, tenant, fn, onDeployed }: { api: Api; tenant: string; fn?: string; onDeployed: (deployment: NewDeployment, fn: string) => void }) {
  const [name, setName] = useState(fn ?? "");
  const [source, setSource] = useState(helloTemplate);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<NewDeployment>();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const target = fn ?? name.trim();
      const deployment = await api.deploy(tenant, target, source, message || "from the console");
      setDone(deployment);
      onDeployed(deployment, target);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="deploy-source" onSubmit={submit}>
      <textarea class="source" name="source" rows={8} spellcheck={false} value={source} onInput={(e) => setSource(e.currentTarget.value)} aria-label="source of index.ts" />
      <div class="deploy form-row">
        {fn ? null : <input name="function" required pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="function name" aria-label="function name" />}
        <input name="message" value={message} onInput={(e) => setMessage(e.currentTarget.value)} placeholder="message (optional)" aria-label="deployment message" />
        <button type="submit" disabled={busy}>
          {busy ? "Deploying…" : "Deploy"}
        </button>
        <button type="button" disabled={busy || source === helloTemplate} onClick={() => setSource(helloTemplate)}>
          Reset to template
        </button>
      </div>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {done ? (
        <p data-testid="deployed">
          v{done.version} is live (<code>{done.id}</code>).
        </p>
      ) : null}
    </form>
  );
}
