/** Tasks with their counts per state (failing and backlogged first), throughput and failures of the last hour. */
import type { JSX } from 'preact';
import { enc } from '../api.js';
import { MinuteBars, type MinutePoint } from '../charts.js';
import { Empty, Loading, Problem, Table, useGet } from '../components.js';
import { time } from '../format.js';
import { useLive } from '../live.js';

interface TaskCounts {
  task: string;
  waiting: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  suspendedUntil: string | null;
}

interface ThroughputRow {
  task: string;
  minute: string;
  succeeded: number;
  failed: number;
  retried?: number;
}

const STATES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export function Overview(): JSX.Element {
  const tasks = useGet<{ tasks: TaskCounts[] }>('/v1/tasks');
  const throughput = useGet<{ buckets: ThroughputRow[] }>('/v1/throughput?minutes=60');
  useLive(
    () => {
      tasks.reload();
      throughput.reload();
    },
    undefined,
    1000,
  );
  const rows = [...(tasks.data?.tasks ?? [])].sort(
    (a, b) => b.failed - a.failed || b.queued + b.waiting - (a.queued + a.waiting) || a.task.localeCompare(b.task),
  );
  return (
    <section>
      <h1>Overview</h1>
      <h2>Last hour</h2>
      {throughput.error ? <Problem error={throughput.error} /> : <Charts rows={throughput.data?.buckets ?? []} />}
      <h2>Tasks</h2>
      <Loading loaded={tasks} />
      {tasks.data && rows.length === 0 ? <Empty>No tasks yet: submit a job and it shows here.</Empty> : null}
      {rows.length > 0 ? (
        <Table label="tasks" head={['task', ...STATES, 'suspended']} numeric={[1, 2, 3, 4, 5, 6]}>
          {rows.map((t) => (
            <tr key={t.task} class={t.failed > 0 ? 'row-bad' : undefined}>
              <th scope="row">
                <a href={`/jobs?task=${enc(t.task)}`}>{t.task}</a>
              </th>
              {STATES.map((s) => (
                <td key={s} class="num">
                  {t[s] > 0 ? <a href={`/jobs?task=${enc(t.task)}&state=${s}`}>{t[s]}</a> : 0}
                </td>
              ))}
              <td>{t.suspendedUntil ? `until ${time(t.suspendedUntil)}` : ''}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

/** Sums every task per minute, over the last 60 minutes (minutes with nothing are zero). */
function Charts({ rows }: { rows: ThroughputRow[] }): JSX.Element {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const minutes = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60_000);
  const ok = new Map<number, number>();
  const bad = new Map<number, number>();
  for (const r of rows) {
    const m = Math.floor(new Date(r.minute).getTime() / 60_000) * 60_000;
    ok.set(m, (ok.get(m) ?? 0) + r.succeeded);
    bad.set(m, (bad.get(m) ?? 0) + r.failed + (r.retried ?? 0));
  }
  const series = (map: Map<number, number>): MinutePoint[] => minutes.map((m) => ({ minute: new Date(m).toISOString(), value: map.get(m) ?? 0 }));
  return (
    <div class="charts">
      <MinuteBars points={series(ok)} label="Succeeded per minute" kind="ok" />
      <MinuteBars points={series(bad)} label="Failed attempts per minute" kind="bad" />
    </div>
  );
}
