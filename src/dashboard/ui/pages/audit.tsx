/** The audit log: who did what, when, and how it ended. */
import type { JSX } from 'preact';
import { query } from '../api.js';
import { Empty, Loading, Table, useGet } from '../components.js';
import { short, time } from '../format.js';
import { useLocation } from '../router.js';

interface Entry {
  id: string;
  actor: string;
  method: string;
  route: string;
  targets: string[];
  summary: unknown;
  status: number;
  at: string;
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
        <Table label="audit log" head={['when', 'who', 'what', 'on', 'details', 'status']}>
          {rows.map((e) => (
            <tr key={e.id} class={e.status >= 400 ? 'row-bad' : undefined}>
              <td>{time(e.at)}</td>
              <td>{e.actor}</td>
              <td>
                {e.method} {e.route}
              </td>
              <td class="clip">{e.targets.join(', ')}</td>
              <td class="clip">{e.summary === null ? '' : short(e.summary, 120)}</td>
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
