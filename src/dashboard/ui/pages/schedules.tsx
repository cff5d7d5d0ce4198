/** Schedules: next and last tick, the last job; pause, resume, run now. */
import type { JSX } from 'preact';
import { enc, post } from '../api.js';
import { ActionButton, Empty, Loading, StateBadge, Table, useGet } from '../components.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';

interface Schedule {
  name: string;
  task: string;
  cron: string;
  timezone: string | null;
  paused: boolean;
  nextTickAt: string | null;
  lastTickAt: string | null;
  lastJobId: string | null;
  lastJobState: string | null;
  description: string | null;
}

export function Schedules(): JSX.Element {
  const list = useGet<{ schedules: Schedule[] }>('/v1/schedules');
  useLive(list.reload, (e) => e.type === 'job:enqueued' || e.type === 'store:changed', 1000);
  const rows = list.data?.schedules ?? [];
  return (
    <section>
      <h1>Schedules</h1>
      <Loading loaded={list} />
      {list.data && rows.length === 0 ? <Empty>No schedules.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="schedules" head={['name', 'task', 'cron', 'next tick', 'last tick', 'last job', '']}>
          {rows.map((s) => (
            <tr key={s.name}>
              <td>
                {s.name}
                {s.paused ? <span class="badge state-cancelled">paused</span> : null}
              </td>
              <td>{s.task}</td>
              <td>
                <code>{s.cron}</code> {s.timezone ?? 'UTC'}
              </td>
              <td>{s.paused ? '—' : ago(s.nextTickAt)}</td>
              <td>{ago(s.lastTickAt)}</td>
              <td>
                {s.lastJobId ? (
                  <>
                    <a href={`/jobs/${enc(s.lastJobId)}`}>{s.lastJobId}</a> {s.lastJobState ? <StateBadge state={s.lastJobState} /> : null}
                  </>
                ) : (
                  '—'
                )}
              </td>
              <td class="actions">
                {s.paused ? (
                  <ActionButton onClick={() => post(`/v1/schedules/${enc(s.name)}/resume`)} done={list.reload} label={`resume ${s.name}`}>
                    Resume
                  </ActionButton>
                ) : (
                  <ActionButton onClick={() => post(`/v1/schedules/${enc(s.name)}/pause`)} done={list.reload} label={`pause ${s.name}`}>
                    Pause
                  </ActionButton>
                )}
                <ActionButton onClick={() => post(`/v1/schedules/${enc(s.name)}/run`)} done={list.reload} label={`run ${s.name} now`}>
                  Run now
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
