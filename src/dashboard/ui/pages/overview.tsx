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

/** GET /v1/throughput: per task, one number per minute from `since` on. */
interface Throughput {
  since: string;
  minutes: number;
  tasks: { task: string; succeeded: number[]; failed: number[]; retried: number[] }[];
}

const STATES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export function Overview(): JSX.Element {
  const tasks = useGet<{ tasks: TaskCounts[] }>('/v1/tasks');
  const throughput = useGet<Throughput>('/v1/throughput?minutes=60');
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
      {throughput.error ? <Problem error={throughput.error} /> : throughput.data ? <Charts data={throughput.data} /> : null}
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

/** Every task summed per minute: succeeded, and failed attempts (retried or failed for good). */
function Charts({ data }: { data: Throughput }): JSX.Element {
  const since = new Date(data.since).getTime();
  const sum = (pick: (t: Throughput['tasks'][number], i: number) => number): MinutePoint[] =>
    Array.from({ length: data.minutes }, (_, i) => ({
      minute: new Date(since + i * 60_000).toISOString(),
      value: data.tasks.reduce((n, t) => n + pick(t, i), 0),
    }));
  return (
    <div class="charts">
      <MinuteBars points={sum((t, i) => t.succeeded[i] ?? 0)} label="Succeeded" kind="ok" />
      <MinuteBars points={sum((t, i) => (t.failed[i] ?? 0) + (t.retried[i] ?? 0))} label="Failed attempts" kind="bad" />
    </div>
  );
}
