/** API tokens (admin only): list, create (its secret shown once), revoke. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { del, enc, post } from '../api.js';
import { ActionButton, Empty, Loading, Problem, Table, useCanAct, useGet } from '../components.js';
import { ago } from '../format.js';

interface Token {
  name: string;
  scope: string;
  tasks: string[];
  createdAt: string;
  revokedAt: string | null;
}

export function Tokens(): JSX.Element {
  const canAct = useCanAct();
  const list = useGet<{ tokens: Token[] }>(canAct ? '/v1/tokens?all=true' : null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  if (!canAct) return <p class="notice">Tokens are shown to admin tokens only.</p>;
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const tasks = String(data.get('tasks') ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    setFailure(null);
    const r = await post<{ token: Token; secret: string }>('/v1/tokens', { name: String(data.get('name')), scope: String(data.get('scope')), tasks });
    setSecret({ name: r.token.name, secret: r.secret });
    form.reset();
    list.reload();
  };
  const rows = list.data?.tokens ?? [];
  return (
    <section>
      <h1>Tokens</h1>
      <form class="inline" onSubmit={(e) => void create(e).catch(setFailure)} aria-label="new token">
        <label>
          Name <input name="name" required pattern="[A-Za-z0-9_][A-Za-z0-9_.:@\-]{0,63}" />
        </label>
        <label>
          Scope{' '}
          <select name="scope">
            <option>read</option>
            <option>submit</option>
            <option>work</option>
            <option>admin</option>
          </select>
        </label>
        <label>
          Tasks <input name="tasks" placeholder="patterns, comma-separated (empty: all)" />
        </label>
        <button type="submit">Create token</button>
      </form>
      <Problem error={failure} />
      {secret ? (
        <p class="notice" role="status">
          Token {secret.name}: <code class="secret">{secret.secret}</code> — copy it now, it is not shown again.
        </p>
      ) : null}
      <Loading loaded={list} />
      {list.data && rows.length === 0 ? <Empty>No tokens.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="tokens" head={['name', 'scope', 'tasks', 'created', 'state', '']}>
          {rows.map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.scope}</td>
              <td>{t.tasks.join(', ') || 'all'}</td>
              <td>{ago(t.createdAt)}</td>
              <td>{t.revokedAt ? `revoked ${ago(t.revokedAt)}` : 'active'}</td>
              <td>
                {t.revokedAt ? null : (
                  <ActionButton danger onClick={() => del(`/v1/tokens/${enc(t.name)}`)} done={list.reload} label={`revoke token ${t.name}`}>
                    Revoke
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
