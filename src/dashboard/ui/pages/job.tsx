/** One job: input, result, error with stack, every attempt, progress, timeline, worker, dependencies. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get, post } from '../api.js';
import { ActionButton, Json, Problem, ProgressBar, StateBadge } from '../components.js';
import { ago, duration, time } from '../format.js';
import { useLive } from '../live.js';
import type { JobJson } from './jobs.js';

interface LinkedJob {
  id: string;
  task: string;
  step: string | null;
  state: string;
}

interface JobDetailJson {
  job: JobJson;
  dependencies?: LinkedJob[];
  dependents?: LinkedJob[];
}

/** Reads with its dependencies; a server that does not know `include` gets the plain read. */
async function readJob(id: string): Promise<JobDetailJson> {
  try {
    return await get<JobDetailJson>(`/v1/jobs/${enc(id)}?include=dependencies`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) return await get<JobDetailJson>(`/v1/jobs/${enc(id)}`);
    throw e;
  }
}

export function JobDetail({ id }: { id: string }): JSX.Element {
  const [detail, setDetail] = useState<JobDetailJson | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const load = () => readJob(id).then(setDetail, setError);
  useEffect(() => {
    setDetail(null);
    void load();
  }, [id]);
  useLive(load, (e) => e.type === 'store:changed' || String(e.data?.id) === id, 200);
  if (error) return <Problem error={error} />;
  if (!detail) return <p class="muted">Loading…</p>;
  const { job } = detail;
  return (
    <section>
      <h1>
        Job {job.id} <StateBadge state={job.state} />
      </h1>
      <p class="actions">
        <ActionButton onClick={() => post(`/v1/jobs/${enc(job.id)}/retry`)} done={load} disabled={!['failed', 'cancelled'].includes(job.state)}>
          Retry
        </ActionButton>
        <ActionButton
          danger
          onClick={() => post(`/v1/jobs/${enc(job.id)}/cancel`)}
          done={load}
          disabled={!['waiting', 'queued', 'running'].includes(job.state)}
        >
          Cancel
        </ActionButton>
      </p>
      <dl class="facts">
        <dt>Task</dt>
        <dd>
          <a href={`/jobs?task=${enc(job.task)}`}>{job.task}</a>
        </dd>
        <dt>Attempt</dt>
        <dd>
          {job.attempt} of {job.maxAttempts}
        </dd>
        <dt>Priority</dt>
        <dd>{job.priority}</dd>
        {job.batchId ? (
          <>
            <dt>Batch</dt>
            <dd>
              <a href={`/batches/${enc(job.batchId)}`}>{job.batchId}</a>
              {job.step ? ` (step ${job.step})` : ''}
            </dd>
          </>
        ) : null}
        <dt>Worker</dt>
        <dd>{job.workerId ?? '—'}</dd>
        {job.leaseExpiresAt ? (
          <>
            <dt>Lease</dt>
            <dd>expires {ago(job.leaseExpiresAt)}</dd>
          </>
        ) : null}
        <dt>Origin</dt>
        <dd>{job.origin ?? '—'}</dd>
        {job.uniqueKey ? (
          <>
            <dt>Unique key</dt>
            <dd>{job.uniqueKey}</dd>
          </>
        ) : null}
        {job.concurrencyKey ? (
          <>
            <dt>Concurrency key</dt>
            <dd>{job.concurrencyKey}</dd>
          </>
        ) : null}
      </dl>
      {job.progress ? (
        <>
          <h2>Progress</h2>
          <ProgressBar label="job progress" total={job.progress.total} succeeded={job.progress.done} />
          <p>
            {job.progress.done} / {job.progress.total} {job.progress.message ?? ''}
          </p>
        </>
      ) : null}
      <h2>Timeline</h2>
      <ol class="timeline">
        {timeline(job).map((e) => (
          <li key={e.text}>
            {e.text} {time(e.at)}
          </li>
        ))}
      </ol>
      <h2>Input</h2>
      <Json value={job.input} label="input" />
      <h2>Result</h2>
      <Json value={job.result} label="result" />
      {job.error ? (
        <>
          <h2>Error</h2>
          <ErrorView error={job.error} />
        </>
      ) : null}
      {job.errors.length > 0 ? (
        <>
          <h2>Earlier attempts</h2>
          {job.errors.map((e) => (
            <details key={e.attempt}>
              <summary>
                Attempt {e.attempt}: {e.message}
              </summary>
              <ErrorView error={e} />
            </details>
          ))}
        </>
      ) : null}
      <Linked title="Waits for" jobs={detail.dependencies} />
      <Linked title="Waited for by" jobs={detail.dependents} />
    </section>
  );
}

/** What happened to the job, oldest first: created, each failed attempt, started, finished. */
function timeline(job: JobJson): { at: string; text: string }[] {
  const events = [{ at: job.createdAt, text: 'Created' }];
  if (job.runAt !== job.createdAt) events.push({ at: job.runAt, text: 'Due' });
  const failures = [...job.errors, ...(job.error && job.state !== 'failed' && !job.errors.some((e) => e.attempt === job.error!.attempt) ? [job.error] : [])];
  for (const e of failures) events.push({ at: e.at, text: `Attempt ${e.attempt} failed` });
  if (job.startedAt) events.push({ at: job.startedAt, text: `Attempt ${job.attempt} started` });
  if (job.finishedAt) {
    const took = job.startedAt ? ` after ${duration(new Date(job.finishedAt).getTime() - new Date(job.startedAt).getTime())},` : '';
    events.push({ at: job.finishedAt, text: `Finished (${job.state}),${took}` });
  }
  return events.sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime());
}

function Linked({ title, jobs }: { title: string; jobs: LinkedJob[] | undefined }): JSX.Element | null {
  if (!jobs || jobs.length === 0) return null;
  return (
    <>
      <h2>{title}</h2>
      <ul>
        {jobs.map((d) => (
          <li key={d.id}>
            <a href={`/jobs/${enc(d.id)}`}>{d.step ?? `job ${d.id}`}</a> ({d.task}) <StateBadge state={d.state} />
          </li>
        ))}
      </ul>
    </>
  );
}

function ErrorView({ error }: { error: NonNullable<JobJson['error']> }): JSX.Element {
  return (
    <div class="error-view">
      <p>
        {error.name ? `${error.name}: ` : ''}
        {error.message}
        {error.code ? ` (${error.code})` : ''} — attempt {error.attempt}, {time(error.at)}
      </p>
      {error.stack ? (
        <section class="stack" aria-label="stack">
          <pre>{error.stack}</pre>
        </section>
      ) : null}
    </div>
  );
}
