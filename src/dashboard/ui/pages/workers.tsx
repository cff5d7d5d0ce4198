/** Workers: host, kind, tasks, busy or idle, last heartbeat; stop one claiming. */
import type { JSX } from 'preact';
import { enc, post } from '../api.js';
import { ActionButton, Empty, Loading, Table, useGet } from '../components.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';

interface Worker {
  id: string;
  kind: string;
  host: string | null;
  pid: number | null;
  tasks: string[];
  concurrency: number;
  startedAt: string;
  lastSeenAt: string;
  /** Jobs it holds now. */
  busy?: number;
  stopping?: boolean;
}

const KINDS: Record<string, string> = {
  node: 'in-process / Node worker',
  remote: 'remote worker',
  http: 'HTTP agent',
  gearman: 'Gearman worker',
  push: 'push endpoint group',
};

export function Workers(): JSX.Element {
  const workers = useGet<{ workers: Worker[] }>('/v1/workers');
  useLive(workers.reload, (e) => e.type === 'job:started' || e.type === 'job:succeeded' || e.type === 'job:failed' || e.type === 'store:changed', 2000);
  const rows = workers.data?.workers ?? [];
  return (
    <section>
      <h1>Workers</h1>
      <Loading loaded={workers} />
      {workers.data && rows.length === 0 ? <Empty>No worker seen in the last day.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="workers" head={['id', 'kind', 'host', 'tasks', 'busy', 'last heartbeat', '']}>
          {rows.map((w) => (
            <tr key={w.id}>
              <td>{w.id}</td>
              <td>{KINDS[w.kind] ?? w.kind}</td>
              <td>
                {w.host ?? '—'}
                {w.pid ? ` (pid ${w.pid})` : ''}
              </td>
              <td class="clip">{w.tasks.join(', ') || '—'}</td>
              <td>{w.stopping ? 'stopping' : busyText(w)}</td>
              <td>{ago(w.lastSeenAt)}</td>
              <td>
                <ActionButton
                  disabled={w.stopping === true}
                  onClick={() => post(`/v1/workers/${enc(w.id)}/stop`)}
                  done={workers.reload}
                  label={`stop worker ${w.id}`}
                >
                  Stop claiming
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

function busyText(w: Worker): string {
  if (w.busy === undefined) return '—';
  return w.busy > 0 ? `busy (${w.busy}/${w.concurrency})` : 'idle';
}
