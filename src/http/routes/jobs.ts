/** Submitting, reading and acting on jobs: POST/GET /v1/jobs, GET /v1/jobs/:id, cancel, retry. */
import type { EnqueueOptions } from '../../client/submission.js';
import { InvalidRequestError, WaitTimeoutError } from '../../core/errors.js';
import { isFinished } from '../../core/job.js';
import type { Offload } from '../../offload.js';
import { requireOpenTask, requireTask } from '../access.js';
import { type Api, type ApiContext, holdLongRequest, type JobJson, jobJson, originOf, readJobs } from '../context.js';
import { JobDetailQuery, JobDetailResponse, ListJobsQuery } from '../dashboard-schemas.js';
import { afterOf, dependencyIds, requireDependencyTasks } from '../dependencies.js';
import { listOptionsOf } from '../job-filter.js';
import {
  errorResponses,
  JobListResponse,
  JobParams,
  JobResponse,
  SubmitBody,
  SubmitHeaders,
  type SubmitJobBody,
  SubmitResponse,
  WaitQuery,
} from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 409, 413, 415, 429);
const submitErrors = errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429);

export function jobRoutes(app: Api, ctx: ApiContext): void {
  const { offload, options } = ctx;

  app.post(
    '/v1/jobs',
    {
      config: { access: 'submit' },
      schema: {
        summary: 'Submit a job, or an array of jobs in one transaction',
        description:
          '201 with the new job; 200 with the existing job when its unique key matched one that is queued or running, ' +
          'or with the jobs an earlier submission with the same Idempotency-Key stored. ' +
          'With `?wait=SECONDS`: 200 with the finished job(s), or 202 with them as they stand when the wait ends. ' +
          'An array body answers `{jobs, deduplicated}`: all are stored, or none. ' +
          'With `after` (job ids, `{ job, name?, onFailure? }`, or `{ name: id }`), the job is stored `waiting` and queued once every job it names has succeeded; ' +
          "`onDependencyFailure` (or each edge's `onFailure`) says what happens when one fails or is cancelled: cancel (default), fail or run. " +
          'A job that does not exist is 404 UNKNOWN_DEPENDENCY and nothing is stored; a token narrowed to some tasks may only wait for jobs of its tasks.',
        tags: ['jobs'],
        headers: SubmitHeaders,
        querystring: WaitQuery,
        body: SubmitBody,
        response: { 200: SubmitResponse, 201: SubmitResponse, 202: SubmitResponse, ...submitErrors },
      },
    },
    async (request, reply) => {
      const many = Array.isArray(request.body);
      const items = (many ? request.body : [request.body]) as SubmitJobBody[];
      if (items.length > options.maxJobsPerRequest)
        throw new InvalidRequestError('body', `has ${items.length} jobs; at most ${options.maxJobsPerRequest} are accepted per request`);
      for (const it of items) requireOpenTask(request, it.task);
      const afters = items.map((it, i) => afterOf(it.after, many ? `body[${i}].after` : 'body.after'));
      await requireDependencyTasks(request, offload, afters.flatMap(dependencyIds));
      const origin = originOf(request.principal);
      const idempotencyKey = request.headers['idempotency-key'];
      // A span of its own, a child of the caller's `traceparent`: the jobs carry it to their handlers.
      const handles = await offload.tracing.request('POST /v1/jobs', request.headers.traceparent, async () =>
        many
          ? await offload.enqueueMany(
              items.map((it, i) => ({ task: it.task, input: it.input, options: enqueueOptions(it, origin, afters[i]) })),
              { idempotencyKey },
            )
          : [await offload.enqueue(items[0]!.task, items[0]!.input, { ...enqueueOptions(items[0]!, origin, afters[0]), idempotencyKey })],
      );
      const ids = handles.map((h) => h.id);
      const replayed = handles.some((h) => h.replayed);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      let status = !replayed && handles.some((h) => !h.deduplicated) ? 201 : 200;
      let jobs: JobJson[];
      if (request.query.wait !== undefined) {
        const held = holdLongRequest(ctx, request, reply);
        try {
          const finished = await waitForAll(offload, ids, Math.min(request.query.wait * 1000, options.maxLongPollMs), held.signal);
          jobs = await readJobs(offload, ids);
          status = finished && jobs.every((j) => isFinished(j.state as never)) ? 200 : 202;
        } finally {
          held.done();
        }
      } else {
        jobs = await readJobs(offload, ids);
      }
      void reply.code(status);
      return many ? { jobs, deduplicated: handles.map((h) => h.deduplicated) } : { job: jobs[0]! };
    },
  );

  app.get(
    '/v1/jobs',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List jobs, newest first, filtered by task, states, batch or flow, created time and text',
        description:
          'A token restricted to some tasks must name one of them in `task`. `since` (inclusive) and `until` (exclusive) bound the created time. ' +
          'Pages follow `nextCursor` (job ids going down), so a page never repeats or skips a job whatever the filters. ' +
          'With `q`, each request examines at most 10 000 jobs (newest first, after the other filters): its cost is bounded by that, ' +
          'not by the table, and a page may hold fewer than `limit` jobs, even none, with a `nextCursor` to search on. ' +
          'The created time has no index of its own: `since` and `until` narrow a walk by id, newest first, so an `until` far back reads past the newer jobs first.',
        tags: ['jobs'],
        querystring: ListJobsQuery,
        response: { 200: JobListResponse, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await offload.listJobs({ ...listOptionsOf(request, q, 'query.'), limit: q.limit, cursor: q.cursor });
      return { jobs: page.jobs.map(jobJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read one job',
        description:
          'With `?wait=SECONDS`, holds the request until the job finishes or the wait ends, then answers 200 with the job as it stands. ' +
          'With `?include=dependencies`, also `dependencies` (the jobs it waits or waited for) and `dependents` (the jobs that wait or waited for it), each with its id, task, step and state.',
        tags: ['jobs'],
        params: JobParams,
        querystring: JobDetailQuery,
        response: { 200: JobDetailResponse, ...errors },
      },
    },
    async (request, reply) => {
      let job = await offload.getJob(request.params.id);
      requireTask(request, job.task);
      if (request.query.wait !== undefined && !isFinished(job.state)) {
        const held = holdLongRequest(ctx, request, reply);
        try {
          await waitForAll(offload, [job.id], Math.min(request.query.wait * 1000, options.maxLongPollMs), held.signal);
        } finally {
          held.done();
        }
        job = await offload.getJob(job.id);
      }
      if (request.query.include !== 'dependencies') return { job: jobJson(job) };
      return { job: jobJson(job), ...(await offload.store.getJobLinks({ id: job.id })) };
    },
  );

  for (const action of ['cancel', 'retry'] as const) {
    app.post(
      `/v1/jobs/:id/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          summary: action === 'cancel' ? 'Cancel a queued or running job' : 'Put a failed or cancelled job back in the queue, its attempts reset',
          description:
            action === 'cancel'
              ? "A running job's worker sees its signal abort; an agent's next heartbeat gets 409 LEASE_LOST."
              : '409 INVALID_STATE unless the job failed or was cancelled.',
          tags: ['jobs'],
          params: JobParams,
          response: { 200: JobResponse, ...errors },
        },
      },
      async (request) => {
        const job = action === 'cancel' ? await offload.cancel(request.params.id) : await offload.retry(request.params.id);
        return { job: jobJson(job) };
      },
    );
  }
}

function enqueueOptions(it: SubmitJobBody, origin: string, after: EnqueueOptions['after']): EnqueueOptions {
  return {
    ...(after !== undefined && { after, onDependencyFailure: it.onDependencyFailure }),
    priority: it.priority,
    runAt: it.runAt,
    delayMs: it.delayMs,
    uniqueKey: it.uniqueKey,
    concurrencyKey: it.concurrencyKey,
    debounceMs: it.debounceMs,
    maxAttempts: it.maxAttempts,
    timeoutMs: it.timeoutMs,
    origin,
  };
}

/** True when every job finished within `ms`; false when the wait ended first (or the client left). */
async function waitForAll(offload: Offload, ids: string[], ms: number, signal: AbortSignal): Promise<boolean> {
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const waits = ids.map((id) => offload.waitForJob(id, { timeoutMs: ms, signal: inner.signal }));
  try {
    await Promise.all(waits);
    return true;
  } catch (err) {
    if (err instanceof WaitTimeoutError || inner.signal.aborted) return false;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Ends the waits still pending (one timed out or failed): no timer outlives the request.
    inner.abort();
    for (const w of waits) w.catch(() => {});
  }
}
