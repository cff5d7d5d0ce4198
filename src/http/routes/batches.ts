/** Batches: POST /v1/batches, GET /v1/batches/:id. */
import { toBatch } from '../../core/batch.js';
import { BatchNotFoundError, InvalidRequestError } from '../../core/errors.js';
import { requireTask } from '../access.js';
import { type Api, type ApiContext, originOf, readJobs } from '../context.js';
import { BatchBody, BatchCreatedResponse, BatchParams, BatchResponse, errorResponses, SubmitHeaders } from '../schemas.js';

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
          '200 with the batch an earlier submission with the same Idempotency-Key stored.',
        tags: ['batches'],
        headers: SubmitHeaders,
        body: BatchBody,
        response: { 200: BatchCreatedResponse, 201: BatchCreatedResponse, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.jobs.length > options.maxJobsPerRequest)
        throw new InvalidRequestError('body.jobs', `has ${b.jobs.length} jobs; at most ${options.maxJobsPerRequest} are accepted per request`);
      for (const j of b.jobs) requireTask(request, j.task);
      if (b.onFinish) requireTask(request, b.onFinish.task);
      const origin = originOf(request.principal);
      const { task: _t, input: _i, ...finishOptions } = b.onFinish ?? { task: '' };
      const handle = await offload.batch(
        b.jobs.map(({ task, input, ...rest }) => ({ task, input, options: { ...rest, origin } })),
        {
          title: b.title,
          idempotencyKey: request.headers['idempotency-key'],
          onFinish: b.onFinish ? { task: b.onFinish.task, input: b.onFinish.input, options: { ...finishOptions, origin } } : undefined,
        },
      );
      const [batch, jobs] = await Promise.all([
        offload.getBatch(handle.id),
        readJobs(
          offload,
          handle.jobs.map((j) => j.id),
        ),
      ]);
      if (handle.replayed) void reply.header('idempotent-replayed', 'true');
      void reply.code(handle.replayed ? 200 : 201);
      return { batch, jobs };
    },
  );

  app.get(
    '/v1/batches/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read a batch: counts, state, and whether every job succeeded',
        tags: ['batches'],
        params: BatchParams,
        response: { 200: BatchResponse, ...errors },
      },
    },
    async (request) => {
      const row = await offload.store.getBatch({ id: request.params.id });
      if (!row) throw new BatchNotFoundError(request.params.id);
      return { batch: toBatch(row) };
    },
  );
}
