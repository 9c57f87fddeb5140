import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Api } from "./api.js";
import { describe } from "./components/async.js";
import { Link } from "./components/link.js";
import { AgentsPage } from "./pages/agents.js";
import { FunctionPage } from "./pages/function.js";
import { Functions } from "./pages/functions.js";
import { InvocationPage } from "./pages/invocation.js";
import { KeysPage } from "./pages/keys.js";
import { SignIn } from "./pages/sign-in.js";
import { Tenants } from "./pages/tenants.js";
import { href, navigate, parseRoute, usePath } from "./router.js";
import { canManageKeys, forgetToken, saveToken, savedToken, type Session } from "./session.js";
import "./style.css";

function App() {
  const [session, setSession] = useState<Session>();
  // A token saved in this tab is checked again on load: it may have been revoked since.
  const [restoring, setRestoring] = useState(savedToken() !== null);
  const [restoreError, setRestoreError] = useState<string>();
  const path = usePath();
  const route = parseRoute(path);
  const api = useMemo(() => (session ? new Api(session.token) : undefined), [session]);

  useEffect(() => {
    const token = savedToken();
    if (token === null) return;
    new Api(token).whoami().then(
      (who) => (setSession({ token, who }), setRestoring(false)),
      (err: unknown) => (forgetToken(), setRestoreError(describe(err)), setRestoring(false)),
    );
  }, []);

  // The home page is wherever this credential starts: the operator's tenants, or the key's tenant.
  useEffect(() => {
    if (!session || route.page !== "home") return;
    navigate(session.who.kind === "operator" ? href({ page: "tenants" }) : href({ page: "functions", tenant: session.who.tenant ?? "" }), true);
  }, [session, route.page]);

  if (restoring) return <p class="loading">Loading…</p>;
  if (!session || !api) {
    return (
      <>
        {restoreError ? <p class="error">Signed out: {restoreError}</p> : null}
        <SignIn
          onSignedIn={(s) => {
            saveToken(s.token);
            setSession(s);
          }}
        />
      </>
    );
  }

  const signOut = () => {
    forgetToken();
    setSession(undefined);
    navigate(href({ page: "home" }));
  };

  return (
    <>
      <header>
        <Link to={href({ page: "home" })} class="brand">
          Isle
        </Link>
        {session.who.kind === "operator" ? (
          <>
            <Link to={href({ page: "tenants" })}>Tenants</Link>
            <Link to={href({ page: "agents" })}>Agents</Link>
          </>
        ) : (
          <>
            <Link to={href({ page: "functions", tenant: session.who.tenant ?? "" })}>Functions</Link>
            {canManageKeys(session.who) ? <Link to={href({ page: "keys", tenant: session.who.tenant ?? "" })}>API keys</Link> : null}
          </>
        )}
        <span class="who" data-testid="who">
          {session.who.kind === "operator" ? "operator" : `${session.who.tenant} · key ${session.who.keyId} (${session.who.scopes.join(", ")})`}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {route.page === "tenants" ? <Tenants api={api} /> : null}
      {route.page === "agents" ? <AgentsPage api={api} /> : null}
      {route.page === "keys" ? <KeysPage api={api} session={session} tenant={route.tenant} /> : null}
      {route.page === "functions" ? <Functions api={api} session={session} tenant={route.tenant} /> : null}
      {route.page === "function" ? <FunctionPage api={api} session={session} tenant={route.tenant} fn={route.fn} /> : null}
      {route.page === "invocation" ? <InvocationPage api={api} tenant={route.tenant} fn={route.fn} id={route.id} /> : null}
      {route.page === "not-found" ? (
        <main>
          <h1>Not found</h1>
          <p>
            No console page at <code>{path}</code>.
          </p>
        </main>
      ) : null}
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
