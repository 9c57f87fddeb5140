import { useState } from "preact/hooks";
import { Api } from "../api.js";
import { describe } from "../components/async.js";
import type { Session } from "../session.js";

/** Asks for an API key (isk_…) or the operator token and learns which it is from GET /v1/whoami. */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await new Api(token.trim()).whoami();
      onSignedIn({ token: token.trim(), who });
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="narrow">
      <h1>Sign in to Isle</h1>
      <form onSubmit={submit}>
        <label>
          API key or operator token
          <input
            name="token"
            type="password"
            autoComplete="off"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <p class="hint">The credential stays in this tab (sessionStorage) and goes only to this gateway.</p>
    </main>
  );
}
