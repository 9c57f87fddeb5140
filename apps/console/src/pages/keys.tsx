import { useState } from "preact/hooks";
import type { Api, NewApiKey } from "../api.js";
import { describe, ErrorBox, useLoad, when } from "../components/async.js";
import { Link } from "../components/link.js";
import { href } from "../router.js";
import type { Session } from "../session.js";

const allScopes = ["read", "invoke", "deploy", "admin"] as const;

/** The tenant's API keys (admin): the list never holds secrets; a new key's secret is shown once. */
export function KeysPage({ api, session, tenant }: { api: Api; session: Session; tenant: string }) {
  const { data, error, reload } = useLoad(() => api.keys(tenant), [tenant]);
  const [created, setCreated] = useState<NewApiKey & { name: string }>();
  const [actionError, setActionError] = useState<string>();
  // Revoking takes two clicks: the first arms the row's button.
  const [armed, setArmed] = useState<string>();

  async function revoke(id: string) {
    setActionError(undefined);
    try {
      await api.revokeKey(tenant, id);
      setArmed(undefined);
      reload();
    } catch (err) {
      setActionError(describe(err));
    }
  }

  return (
    <main>
      <p class="crumbs">
        <Link to={href({ page: "functions", tenant })}>{tenant}</Link> / keys
      </p>
      <h1>API keys of {tenant}</h1>
      <CreateKeyForm
        api={api}
        tenant={tenant}
        onCreated={(key) => {
          setCreated(key);
          reload();
        }}
      />
      {created ? (
        <div class="new-key" data-testid="new-key">
          <p>
            The new key <strong>{created.name}</strong> (<code>{created.id}</code>). Copy it now: it is not shown again.
          </p>
          <pre data-testid="new-key-secret">{created.key}</pre>
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      ) : null}
      <ErrorBox error={error ?? actionError} />
      {data && data.length === 0 ? <p>No keys yet.</p> : null}
      {data && data.length > 0 ? (
        <table class="keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Scopes</th>
              <th>Function</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Revoked</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {data.map((k) => {
              const mine = session.who.keyId === k.id;
              return (
                <tr key={k.id} data-key={k.id} class={k.revokedAt ? "revoked" : undefined}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.id}</code>
                  </td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>{k.functionName ?? "any"}</td>
                  <td>{when(k.createdAt)}</td>
                  <td>{k.expiresAt ? when(k.expiresAt) : "never"}</td>
                  <td data-testid="revoked-at">{k.revokedAt ? when(k.revokedAt) : ""}</td>
                  <td>
                    {k.revokedAt ? null : mine ? (
                      <span class="hint">this session</span>
                    ) : (
                      <button type="button" onClick={() => (armed === k.id ? void revoke(k.id) : setArmed(k.id))}>
                        {armed === k.id ? "Confirm revoke" : "Revoke"}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}

function CreateKeyForm({ api, tenant, onCreated }: { api: Api; tenant: string; onCreated: (key: NewApiKey & { name: string }) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [functionName, setFunctionName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const fn = functionName.trim();
      const key = await api.createKey(tenant, { name: name.trim(), scopes, ...(fn ? { functionName: fn } : {}) });
      onCreated({ ...key, name: name.trim() });
      setName("");
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  const toggle = (scope: string, on: boolean) => setScopes((old) => (on ? [...old, scope] : old.filter((s) => s !== scope)));
  return (
    <section>
      <h2>New key</h2>
      <form class="new-key-form" onSubmit={submit}>
        <label>
          Name
          <input name="key-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset class="scopes">
          <legend>Scopes</legend>
          {allScopes.map((scope) => (
            <label key={scope}>
              <input type="checkbox" name={`scope-${scope}`} checked={scopes.includes(scope)} onChange={(e) => toggle(scope, e.currentTarget.checked)} /> {scope}
            </label>
          ))}
        </fieldset>
        <label>
          Only for function (optional)
          <input name="key-function" value={functionName} onInput={(e) => setFunctionName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || scopes.length === 0}>
          Create key
        </button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}
