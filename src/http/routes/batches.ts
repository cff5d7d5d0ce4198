/** Batches: POST /v1/batches, GET /v1/batches (newest first), GET /v1/batches/:id; with ?wait, both hold until the batch has finished (a foreground batch). */

import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTaskRestricted } from '../../auth/permissions.js';
import type { BatchHandle } from '../../client/handles.js';
import type { Batch, BatchFailure } from '../../core/batch.js';
import { BatchNotFoundError, ForbiddenError, InvalidRequestError, WaitTimeoutError } from '../../core/errors.js';
import type { Offload } from '../../offload.js';
import { requireOpenTask, requireTask } from '../access.js';
import { type Api, type ApiContext, holdLongRequest, originOf, readJobs } from '../context.js';
import { afterOf, dependencyIds, requireDependencyTasks } from '../dependencies.js';
import {
  BatchBody,
  BatchCreatedResponse,
  BatchListQuery,
  BatchListResponse,
  BatchParams,
  BatchResponse,
  errorResponses,
  SubmitHeaders,
  WaitQuery,
} from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 413, 415, 422, 429);

export function batchRoutes(app: Api, ctx: ApiContext): void {
  const { offload, options } = ctx;

  app.post(
    '/v1/batches',
    {
      config: { access: 'submit' },
      schema: {
        summary: 'Submit jobs as one batch, with live counts and an optional job to run when all have finished',
        description:
          'All jobs are stored in one transaction, or none. Read progress with GET /v1/batches/:id or the batch:finished event. ' +
          '200 with the batch an earlier submission with the same Idempotency-Key stored. ' +
          'With `?wait=SECONDS` (a foreground batch): 200 once every job has finished, with `batch.ok` and the failures listed, ' +
          'or 202 with the batch as it stands when the wait ends. A job may wait for jobs stored before (`after`, as in POST /v1/jobs); ' +
          'for jobs that wait for each other, submit a flow (POST /v1/flows).',
        tags: ['batches'],
        headers: SubmitHeaders,
        querystring: WaitQuery,
        body: BatchBody,
        response: { 200: BatchCreatedResponse, 201: BatchCreatedResponse, 202: BatchCreatedResponse, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.jobs.length > options.maxJobsPerRequest)
        throw new InvalidRequestError('body.jobs', `has ${b.jobs.length} jobs; at most ${options.maxJobsPerRequest} are accepted per request`);
      for (const j of b.jobs) requireOpenTask(request, j.task);
      if (b.onFinish) requireOpenTask(request, b.onFinish.task);
      const afters = b.jobs.map((j, i) => afterOf(j.after, `body.jobs[${i}].after`));
      await requireDependencyTasks(request, offload, afters.flatMap(dependencyIds));
      const origin = originOf(request.principal);
      // A span of its own, a child of the caller's `traceparent`: the jobs carry it to their handlers.
      const handle = await offload.tracing.request('POST /v1/batches', request.headers.traceparent, () =>
        offload.batch(
          b.jobs.map(({ task, input, after: _a, onDependencyFailure, ...rest }, i) => ({
            task,
            input,
            options: { ...rest, origin, ...(afters[i] !== undefined && { after: afters[i], onDependencyFailure }) },
          })),
          {
            title: b.title,
            idempotencyKey: request.headers['idempotency-key'],
            onFinish: onFinishOf(b.onFinish, origin),
          },
        ),
      );
      const status = await submittedStatus(ctx, request, reply, handle);
      const [batch, jobs] = await Promise.all([
        offload.getBatch(handle.id),
        readJobs(
          offload,
          handle.jobs.map((j) => j.id),
        ),
      ]);
      void reply.code(status);
      return { batch, jobs, failures: await failuresOf(offload, batch) };
    },
  );

  app.get(
    '/v1/batches',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List batches and flows, newest first',
        description:
          'Each with its counts and state, as GET /v1/batches/:id gives it (without failures); cursor pagination. ' +
          'A token narrowed to some tasks reads batches by id only (403 here): a list would show batches of other tasks.',
        tags: ['batches'],
        querystring: BatchListQuery,
        response: { 200: BatchListResponse, ...errors },
      },
    },
    async (request) => {
      if (isTaskRestricted(request.principal))
        throw new ForbiddenError(`token "${request.principal.name}" is narrowed to some tasks; read its batches by id (GET /v1/batches/:id)`, {
          tasks: request.principal.tasks,
        });
      return offload.listBatches({ limit: request.query.limit, cursor: request.query.cursor });
    },
  );

  app.get(
    '/v1/batches/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read a batch: counts, state, whether every job succeeded, and once it has finished, its failures',
        description:
          'With `?wait=SECONDS`, holds the request until the batch has finished or the wait ends, then answers 200 with the batch as it stands ' +
          '(`state` says which): a batch submitted elsewhere, watched from here. A token narrowed to some tasks reads only batches whose every job is of its tasks.',
        tags: ['batches'],
        params: BatchParams,
        querystring: WaitQuery,
        response: { 200: BatchResponse, ...errors },
      },
    },
    async (request, reply) => {
      const row = await offload.store.getBatch({ id: request.params.id });
      if (!row) throw new BatchNotFoundError(request.params.id);
      await requireBatchTasks(request, offload, row.id);
      if (request.query.wait !== undefined && row.finishedAt === null) await holdUntilFinished(ctx, request, reply, row.id, request.query.wait);
      const batch = await offload.getBatch(row.id);
      return { batch, failures: await failuresOf(offload, batch) };
    },
  );
}

/** True when the batch finished within `ms`; false when the wait ended first (or the client left). */
/** A batch's or flow's onFinish as the body gives it (its options flat) to the library, with the submitter's origin. */
export function onFinishOf(onFinish: BatchBody['onFinish'], origin: string) {
  if (!onFinish) return undefined;
  const { task, input, ...options } = onFinish;
  return { task, input, options: { ...options, origin } };
}

/**
 * The status of a batch or flow submit: 201 stored, 200 replayed (said by a header too); with
 * `?wait`, 200 once it has finished, 202 when the wait ends first.
 */
export async function submittedStatus(
  ctx: ApiContext,
  request: FastifyRequest<{ Querystring: { wait?: number } }>,
  reply: FastifyReply,
  handle: BatchHandle,
): Promise<number> {
  if (handle.replayed) void reply.header('idempotent-replayed', 'true');
  if (request.query.wait === undefined) return handle.replayed ? 200 : 201;
  return (await holdUntilFinished(ctx, request, reply, handle.id, request.query.wait)) ? 200 : 202;
}

/**
 * Holds the request (as a long request, cut short at shutdown) until the batch or flow has
 * finished or `seconds` (at most maxLongPollMs) pass; true when it finished.
 */
export async function holdUntilFinished(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, id: string, seconds: number): Promise<boolean> {
  const held = holdLongRequest(ctx, request, reply);
  try {
    return await waitForBatch(ctx.offload, id, Math.min(seconds * 1000, ctx.options.maxLongPollMs), held.signal);
  } finally {
    held.done();
  }
}

export async function waitForBatch(offload: Offload, id: string, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await offload.waitForBatch(id, { timeoutMs: ms, signal });
    return true;
  } catch (err) {
    if (err instanceof WaitTimeoutError || signal.aborted) return false;
    throw err;
  }
}

export async function failuresOf(offload: Offload, batch: Batch): Promise<BatchFailure[]> {
  return batch.state === 'finished' && !batch.ok ? offload.batchFailures(batch.id) : [];
}

/** Most jobs of a batch read to check a narrowed token's tasks (a batch holds at most what one request may submit, or a flow's steps). */
const MAX_CHECKED_MEMBERS = 100_000;

/** A token narrowed to some tasks reads a batch only when it may use every job's task (its counts and failures tell of them all). */
export async function requireBatchTasks(request: FastifyRequest, offload: Offload, batchId: string): Promise<void> {
  if (!isTaskRestricted(request.principal)) return;
  const jobs = await offload.store.listBatchJobs({ batchId, limit: MAX_CHECKED_MEMBERS });
  for (const task of new Set(jobs.map((j) => j.task))) requireTask(request, task);
}
