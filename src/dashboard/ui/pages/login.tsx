/** The login off loopback: a token in, a session cookie out (the token is not kept in the page). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, api, type Session } from '../api.js';

export function Login({ onLogin }: { onLogin: (s: Session) => void }): JSX.Element {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '');
    setBusy(true);
    setError(null);
    try {
      onLogin(await api<Session>('POST', '/dashboard/session', { token }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login" tabIndex={-1}>
      <h1>Offload</h1>
      <form onSubmit={submit}>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" required placeholder="ofl_…" />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <p class="muted">
          Make one with <code>offload token create NAME --scope read</code> (see, not act) or <code>--scope admin</code>.
        </p>
      </form>
    </main>
  );
}
