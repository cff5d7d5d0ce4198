/**
 * Flows: POST /v1/flows, GET /v1/flows/:id, POST /v1/flows/:id/cancel. A flow is a batch of named
 * steps that wait for each other, submitted at once (all or nothing); with ?wait, both the submit
 * and the read hold until it has finished, as batches do.
 */
import type { FastifyRequest } from 'fastify';
import type { Flow, FlowSteps } from '../../client/flows.js';
import type { Batch } from '../../core/batch.js';
import { InvalidRequestError } from '../../core/errors.js';
import type { Offload } from '../../offload.js';
import { requireOpenTask, requireTask } from '../access.js';
import { type Api, type ApiContext, originOf, readJobs } from '../context.js';
import { requireDependencyTasks } from '../dependencies.js';
import { errorResponses, FlowBody, FlowCancelResponse, FlowCreatedResponse, FlowParams, FlowResponse, SubmitHeaders, WaitQuery } from '../schemas.js';
import { failuresOf, holdUntilFinished, onFinishOf, submittedStatus } from './batches.js';

const submitErrors = errorResponses(400, 401, 403, 404, 413, 415, 422, 429);
const errors = errorResponses(400, 401, 403, 404, 429);

export function flowRoutes(app: Api, ctx: ApiContext): void {
  const { offload, options } = ctx;

  app.post(
    '/v1/flows',
    {
      config: { access: 'submit' },
      schema: {
        summary: 'Submit a flow: named steps that wait for each other, stored at once (all or nothing)',
        description:
          'Each step is a job; a step with `after` is stored `waiting` and queued once every step (or job stored before) it names has succeeded, ' +
          "and its handler (or agent, in the claimed job's `dependencies`) reads their results by step name. When one fails or is cancelled, " +
          "the edge's policy (`onFailure`, else `onDependencyFailure`, else cancel) cancels the waiting step, fails it (DEPENDENCY_FAILED) or runs it anyway. " +
          'A flow is a batch (`kind: flow`): live counts, `onFinish`, GET /v1/batches/:id and the `batch:*` events work on it too. ' +
          'A step waiting for a step that does not exist, or steps waiting for each other in a cycle: 400 INVALID_FLOW; a job id that does not exist: ' +
          "404 UNKNOWN_DEPENDENCY; nothing is stored either way. Every step's task must be allowed by the token. 201 with the flow, its steps and their jobs; " +
          '200 with the flow an earlier submission with the same Idempotency-Key stored. With `?wait=SECONDS`: 200 once every step has finished, ' +
          'or 202 with the flow as it stands when the wait ends.',
        tags: ['flows'],
        headers: SubmitHeaders,
        querystring: WaitQuery,
        body: FlowBody,
        response: { 200: FlowCreatedResponse, 201: FlowCreatedResponse, 202: FlowCreatedResponse, ...submitErrors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const names = Object.keys(b.steps);
      if (names.length > options.maxFlowSteps)
        throw new InvalidRequestError('body.steps', `has ${names.length} steps; at most ${options.maxFlowSteps} are accepted in one flow (maxFlowSteps)`);
      for (const name of names) requireOpenTask(request, b.steps[name]!.task);
      if (b.onFinish) requireOpenTask(request, b.onFinish.task);
      const outside = names.flatMap((name) => (b.steps[name]!.after ?? []).flatMap((e) => (typeof e === 'object' && 'job' in e ? [e.job] : [])));
      await requireDependencyTasks(request, offload, outside);
      const origin = originOf(request.principal);
      const steps: FlowSteps = {};
      for (const name of names) {
        const { task, input, after, ...stepOptions } = b.steps[name]!;
        steps[name] = { task, input: input ?? null, after, options: { ...stepOptions, origin } };
      }
      const handle = await offload.tracing.request('POST /v1/flows', request.headers.traceparent, () =>
        offload.flow({
          steps,
          title: b.title,
          onDependencyFailure: b.onDependencyFailure,
          idempotencyKey: request.headers['idempotency-key'],
          onFinish: onFinishOf(b.onFinish, origin),
        }),
      );
      const status = await submittedStatus(ctx, request, reply, handle);
      const [flow, jobs] = await Promise.all([
        offload.getFlow(handle.id),
        readJobs(
          offload,
          handle.jobs.map((j) => j.id),
        ),
      ]);
      void reply.code(status);
      return { ...(await flowJson(offload, flow)), jobs };
    },
  );

  app.get(
    '/v1/flows/:id',
    {
      config: { access: 'read' },
      schema: {
        summary: "Read a flow: its counts and every step's state, in one read",
        description:
          'Each step with its job id, task, state, what it waits for (`after`, step names) and, while waiting, how many of those have not finished. ' +
          'With `?wait=SECONDS`, holds the request until the flow has finished or the wait ends, then answers 200 with the flow as it stands ' +
          '(`flow.state` says which). A token narrowed to some tasks reads only flows whose every step is of its tasks. A batch that is not a flow: 404 FLOW_NOT_FOUND.',
        tags: ['flows'],
        params: FlowParams,
        querystring: WaitQuery,
        response: { 200: FlowResponse, ...errors },
      },
    },
    async (request, reply) => {
      let flow = await offload.getFlow(request.params.id);
      requireStepTasks(request, flow);
      if (request.query.wait !== undefined && flow.state !== 'finished') {
        await holdUntilFinished(ctx, request, reply, flow.id, request.query.wait);
        flow = await offload.getFlow(flow.id);
      }
      return flowJson(offload, flow);
    },
  );

  app.post(
    '/v1/flows/:id/cancel',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Cancel the steps of a flow that have not started',
        description:
          'Waiting and queued steps are cancelled (and the steps waiting for them follow their policies); running steps finish. ' +
          'Answers how many were cancelled and the flow as it stands after.',
        tags: ['flows'],
        params: FlowParams,
        response: { 200: FlowCancelResponse, ...errors },
      },
    },
    async (request) => {
      const flow = await offload.getFlow(request.params.id);
      requireStepTasks(request, flow);
      const cancelled = await offload.cancelBatch(flow.id);
      return { cancelled, flow: batchOf(await offload.getFlow(flow.id)) };
    },
  );
}

/** A token narrowed to some tasks touches a flow only when it may use every step's task. */
function requireStepTasks(request: FastifyRequest, flow: Flow): void {
  for (const task of new Set(flow.steps.map((s) => s.task))) requireTask(request, task);
}

function batchOf(flow: Flow): Batch {
  const { steps: _steps, ...batch } = flow;
  return batch;
}

async function flowJson(offload: Offload, flow: Flow) {
  const batch = batchOf(flow);
  return { flow: batch, steps: flow.steps, failures: await failuresOf(offload, batch) };
}
