/** Failures grouped by task and message, the most frequent first. */
import type { JSX } from 'preact';
import { enc, query } from '../api.js';
import { Empty, Loading, Table, useGet } from '../components.js';
import { ago, short } from '../format.js';
import { useLive } from '../live.js';

interface ErrorGroup {
  task: string;
  message: string;
  count: number;
  lastAt: string;
  sampleJobId: string;
}

export function Errors(): JSX.Element {
  const groups = useGet<{ groups?: ErrorGroup[]; errors?: ErrorGroup[] }>('/v1/errors');
  useLive(groups.reload, (e) => e.type === 'job:failed' || e.type === 'job:retrying' || e.type === 'store:changed', 1000);
  const rows = groups.data?.groups ?? groups.data?.errors ?? [];
  return (
    <section>
      <h1>Errors</h1>
      <Loading loaded={groups} />
      {groups.data && rows.length === 0 ? <Empty>No failed jobs.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="error groups" head={['task', 'message', 'jobs', 'last', 'example']} numeric={[2]}>
          {rows.map((g) => (
            <tr key={`${g.task}\n${g.message}`}>
              <td>
                <a href={`/jobs${query({ task: g.task, state: 'failed' })}`}>{g.task}</a>
              </td>
              <td class="clip">{short(g.message, 160)}</td>
              <td class="num">{g.count}</td>
              <td>{ago(g.lastAt)}</td>
              <td>
                <a href={`/jobs/${enc(g.sampleJobId)}`}>job {g.sampleJobId}</a>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
