/** The audit log: who did what, when, and how it ended. */
import type { JSX } from 'preact';
import { query } from '../api.js';
import { Empty, Loading, Table, useGet } from '../components.js';
import { time } from '../format.js';
import { useLocation } from '../router.js';

interface Entry {
  id?: string;
  who: string | null;
  what: string;
  when: string;
  status: number | string;
  target?: string | null;
}

export function Audit(): JSX.Element {
  const loc = useLocation();
  const cursor = loc.params.get('cursor') ?? undefined;
  const list = useGet<{ entries: Entry[]; nextCursor?: string | null }>(`/v1/audit${query({ cursor, limit: 100 })}`);
  const rows = list.data?.entries ?? [];
  return (
    <section>
      <h1>Audit log</h1>
      <p>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </p>
      <Loading loaded={list} />
      {list.data && rows.length === 0 ? <Empty>No actions recorded yet.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="audit log" head={['when', 'who', 'what', 'status']}>
          {rows.map((e, i) => (
            <tr key={e.id ?? i}>
              <td>{time(e.when)}</td>
              <td>{e.who ?? 'local user'}</td>
              <td class="clip">
                {e.what}
                {e.target ? ` ${e.target}` : ''}
              </td>
              <td>{e.status}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      {list.data?.nextCursor ? (
        <nav class="pager" aria-label="pages">
          <a href={`/audit${query({ cursor: list.data.nextCursor })}`}>Older</a>
        </nav>
      ) : null}
    </section>
  );
}
