import type { Api } from "../api.js";
import { ErrorBox, useLoad, when } from "../components/async.js";
import { Link } from "../components/link.js";
import { href } from "../router.js";

/** A tenant's functions: name, visibility, runtime, active deployment, last update. */
export function Functions({ api, tenant }: { api: Api; tenant: string }) {
  const { data, error } = useLoad(() => api.functions(tenant), [tenant]);
  return (
    <main>
      <h1>Functions of {tenant}</h1>
      <ErrorBox error={error} />
      {data && data.length === 0 ? <p>No functions yet: deploy one with `isle deploy` or `git push`.</p> : null}
      {data && data.length > 0 ? (
        <table class="functions">
          <thead>
            <tr>
              <th>Name</th>
              <th>Visibility</th>
              <th>Runtime</th>
              <th>Active deployment</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {data.map((fn) => (
              <tr key={fn.id}>
                <td>
                  <Link to={href({ page: "function", tenant, fn: fn.name })}>{fn.name}</Link>
                </td>
                <td>{fn.visibility}</td>
                <td>{fn.runtime}</td>
                <td>
                  <code>{fn.activeDeploymentId ?? "none"}</code>
                </td>
                <td>{when(fn.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
