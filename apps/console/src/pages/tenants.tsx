import type { Api } from "../api.js";
import { ErrorBox, useLoad, when } from "../components/async.js";
import { Link } from "../components/link.js";
import { href } from "../router.js";

/** The operator's list of tenants, each leading to its functions. */
export function Tenants({ api }: { api: Api }) {
  const { data, error } = useLoad(() => api.tenants(), []);
  return (
    <main>
      <h1>Tenants</h1>
      <ErrorBox error={error} />
      {data && data.length === 0 ? <p>No tenants yet.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {data.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link to={href({ page: "functions", tenant: t.name })}>{t.name}</Link>
                </td>
                <td>{when(t.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
