import type { Api, IsleFunction } from "../api.js";
import { ErrorBox, useLoad } from "./async.js";

/**
 * What the function is given at run time, by name only: env values are settings the API does
 * return, but a screen is easily shared, so neither they nor secret values are shown.
 */
export function ConfigNames({ api, tenant, fn, canReadSecrets }: { api: Api; tenant: string; fn: IsleFunction; canReadSecrets: boolean }) {
  const envNames = Object.keys(fn.env).sort();
  const secrets = useLoad(() => (canReadSecrets ? api.secrets(tenant, fn.name) : Promise.resolve(undefined)), [tenant, fn.name, canReadSecrets]);
  return (
    <section>
      <h2>Environment</h2>
      <dl class="facts">
        <dt>Variables</dt>
        <dd data-testid="env-names">{envNames.length === 0 ? "none" : <Names names={envNames} />}</dd>
        <dt>Secrets</dt>
        <dd data-testid="secret-names">
          {!canReadSecrets ? (
            <span class="hint">listing secret names needs a key with the admin scope</span>
          ) : secrets.data === undefined ? null : secrets.data.length === 0 ? (
            "none"
          ) : (
            <Names names={secrets.data.map((s) => s.name)} />
          )}
          <ErrorBox error={secrets.error} />
        </dd>
      </dl>
    </section>
  );
}

function Names({ names }: { names: string[] }) {
  return (
    <>
      {names.map((n, i) => (
        <span key={n}>
          {i > 0 ? ", " : ""}
          <code>{n}</code>
        </span>
      ))}
    </>
  );
}
