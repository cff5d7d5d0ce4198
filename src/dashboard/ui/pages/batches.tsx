/**
 * Batches and flows with live progress bars (the batch's own event stream) and an ETA from the
 * rate seen while the page is open; a flow's steps as a graph.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, post } from '../api.js';
import { FlowGraph, type GraphStep } from '../charts.js';
import { ActionButton, Empty, Problem, ProgressBar, StateBadge, Table } from '../components.js';
import { ago, duration } from '../format.js';
import { useBatchStream, useLive } from '../live.js';
import { navigate } from '../router.js';

interface Batch {
  id: string;
  kind: 'batch' | 'flow';
  title: string | null;
  state: 'running' | 'finished';
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  pending: number;
  ok: boolean;
  createdAt: string;
  finishedAt: string | null;
}

interface Failure {
  id: string;
  task: string;
  state: string;
  error: { message: string } | null;
}

interface FlowStep extends GraphStep {
  waitingFor: number | null;
}

/** The latest batches and flows (GET /v1/batches). */
async function recentBatches(): Promise<Batch[]> {
  return (await get<{ batches: Batch[] }>('/v1/batches?limit=20')).batches;
}

export function Batches(): JSX.Element {
  const [batches, setBatches] = useState<Batch[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const load = () => recentBatches().then(setBatches, setError);
  useEffect(() => void load(), []);
  useLive(load, (e) => e.type === 'batch:finished' || e.type === 'job:enqueued' || e.type.startsWith('job:'), 1000);
  const open = (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('id') ?? '').trim();
    if (id) navigate(`/batches/${enc(id)}`);
  };
  return (
    <section>
      <h1>Batches and flows</h1>
      <form class="inline" onSubmit={open}>
        <label>
          Batch or flow id <input name="id" inputMode="numeric" size={10} />
        </label>
        <button type="submit">Open</button>
      </form>
      <Problem error={error} />
      {batches && batches.length === 0 ? <Empty>No batches or flows yet.</Empty> : null}
      {batches && batches.length > 0 ? (
        <Table label="batches" head={['id', 'kind', 'title', 'progress', 'done', 'state', 'created']}>
          {batches.map((b) => (
            <tr key={b.id}>
              <td>
                <a href={`/batches/${enc(b.id)}`}>{b.id}</a>
              </td>
              <td>{b.kind}</td>
              <td>{b.title ?? ''}</td>
              <td class="bar-cell">
                <ProgressBar label={`batch ${b.id}`} total={b.total} succeeded={b.succeeded} failed={b.failed} cancelled={b.cancelled} />
              </td>
              <td class="num">
                {b.total - b.pending}/{b.total}
              </td>
              <td>
                <StateBadge state={b.state === 'finished' ? (b.ok ? 'succeeded' : 'failed') : 'running'} />
              </td>
              <td>{ago(b.createdAt)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

interface Counts {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  pending: number;
}

/** Finished jobs per ms, from the first counts seen on this page to the latest. */
function useEta(counts: Counts | null): number | null {
  const first = useRef<{ at: number; done: number } | null>(null);
  if (!counts) return null;
  const done = counts.total - counts.pending;
  const now = Date.now();
  if (!first.current) first.current = { at: now, done };
  const rate = (done - first.current.done) / Math.max(1, now - first.current.at);
  if (counts.pending === 0) return 0;
  return rate > 0 ? counts.pending / rate : null;
}

export function BatchDetail({ id }: { id: string }): JSX.Element {
  const [batch, setBatch] = useState<Batch | null>(null);
  const [failures, setFailures] = useState<Failure[]>([]);
  const [steps, setSteps] = useState<FlowStep[] | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const load = async () => {
    try {
      const r = await get<{ batch: Batch; failures: Failure[] }>(`/v1/batches/${enc(id)}`);
      setBatch(r.batch);
      setFailures(r.failures);
      setCounts(r.batch);
      if (r.batch.kind === 'flow') {
        const f = await get<{ flow: Batch; steps: FlowStep[] }>(`/v1/flows/${enc(id)}`);
        setSteps(f.steps);
      }
    } catch (e) {
      setError(e as Error);
    }
  };
  useEffect(() => {
    setBatch(null);
    setSteps(null);
    void load();
  }, [id]);
  useBatchStream(id, setCounts, load);
  // A flow's graph shows every step's state: read it again as its jobs move.
  useLive(load, (e) => batch?.kind === 'flow' && e.type.startsWith('job:'), 500);
  const eta = useEta(counts);
  if (error) return <Problem error={error} />;
  if (!batch || !counts) return <p class="muted">Loading…</p>;
  const done = counts.total - counts.pending;
  const finished = counts.pending === 0;
  return (
    <section>
      <h1>
        {batch.kind === 'flow' ? 'Flow' : 'Batch'} {batch.id}
        {batch.title ? `: ${batch.title}` : ''}
      </h1>
      <ProgressBar
        label={`${batch.kind} ${batch.id} progress`}
        total={counts.total}
        succeeded={counts.succeeded}
        failed={counts.failed}
        cancelled={counts.cancelled}
      />
      <p class="counts" aria-live="polite">
        <span data-testid="batch-done">{done}</span> of {counts.total} done: {counts.succeeded} succeeded, {counts.failed} failed, {counts.cancelled} cancelled,{' '}
        {counts.pending} pending. {finished ? 'Finished.' : eta === null ? 'ETA: measuring…' : `ETA: ${duration(eta)}.`}
      </p>
      <p class="actions">
        <a href={`/jobs?batch=${enc(batch.id)}`}>Its jobs</a> <a href={`/jobs?batch=${enc(batch.id)}&state=failed`}>Its failed jobs</a>{' '}
        {batch.kind === 'flow' ? (
          <ActionButton danger disabled={finished} onClick={() => post(`/v1/flows/${enc(batch.id)}/cancel`)} done={load}>
            Cancel the flow
          </ActionButton>
        ) : null}
      </p>
      {steps ? (
        <>
          <h2>Graph</h2>
          <FlowGraph steps={steps} href={(s) => `/jobs/${enc(s.id)}`} />
        </>
      ) : null}
      {failures.length > 0 ? (
        <>
          <h2>Failures</h2>
          <ul>
            {failures.map((f) => (
              <li key={f.id}>
                <a href={`/jobs/${enc(f.id)}`}>job {f.id}</a> ({f.task}) <StateBadge state={f.state} /> {f.error?.message ?? ''}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
