/** Tasks and workers: counts per task and state, purge, suspend and resume, the workers the store knows. */
import { allowsTask } from '../../auth/permissions.js';
import type { JobState } from '../../core/job.js';
import { resolveTaskSettings } from '../../core/task.js';
import { requireTask } from '../access.js';
import { type Api, type ApiContext, iso } from '../context.js';
import {
  EmptyQuery,
  errorResponses,
  PurgeQuery,
  PurgeResponse,
  ResumeResponse,
  SuspendBody,
  SuspendResponse,
  TaskParams,
  TaskSettingsBody,
  TaskSettingsResponse,
  TasksResponse,
  WorkersResponse,
} from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 429);
const bodyErrors = { ...errors, ...errorResponses(413, 415) };

export function taskRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/tasks',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Jobs per task and state, for every task the store knows (that the token may read)',
        tags: ['tasks'],
        querystring: EmptyQuery,
        response: { 200: TasksResponse, ...errors },
      },
    },
    async (request) => ({
      tasks: (await offload.counts())
        .filter((c) => allowsTask(request.principal, c.task))
        .map((c) => ({ ...c, suspendedUntil: c.suspendedUntil === null ? null : iso(c.suspendedUntil) })),
    }),
  );

  app.delete(
    '/v1/tasks/:task/jobs',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Purge: delete a task's jobs in the given states",
        description: 'Default state: queued. Running jobs cannot be purged (cancel them).',
        tags: ['tasks'],
        params: TaskParams,
        querystring: PurgeQuery,
        response: { 200: PurgeResponse, ...errors },
      },
    },
    async (request) => {
      const { task } = request.params;
      requireTask(request, task);
      const states = (request.query.state ?? 'queued').split(',') as JobState[];
      return { task, deleted: await offload.purge(task, [...new Set(states)]) };
    },
  );

  // A remote worker (`offload worker --connect`) declares the settings of the tasks it runs, as a
  // worker on the store does when it starts, so producers use them.
  app.put(
    '/v1/tasks/:task',
    {
      config: { access: 'work' },
      schema: {
        summary: "Declare a task's settings (what a worker does when it starts)",
        description:
          'Replaces the settings every process uses to submit to the task (the last writer wins); absent fields take their defaults. ' +
          'Allowed to work tokens whose task patterns match: the program that runs a task says how it runs.',
        tags: ['tasks'],
        params: TaskParams,
        body: TaskSettingsBody,
        response: { 200: TaskSettingsResponse, ...bodyErrors },
      },
    },
    async (request) => {
      const { task } = request.params;
      requireTask(request, task);
      const settings = resolveTaskSettings(task, request.body);
      if (settings.inputSchema) offload.registry.checkSchema(task, settings.inputSchema);
      await offload.store.registerTasks({ tasks: [{ name: task, settings }], now: offload.clock.now() });
      offload.registry.forget(task);
      return { task, settings: { ...settings, backoff: { ...settings.backoff } } };
    },
  );

  app.post(
    '/v1/tasks/:task/suspend',
    {
      config: { access: 'work' },
      schema: {
        summary: 'Suspend a task: none of its jobs is claimed for delayMs',
        description:
          'What a handler\'s suspendTask(ms) does (an upstream said "slow down"), and what an operator does with `offload task suspend`. ' +
          'Jobs already running go on; a suspension only ever lengthens one already in place. Allowed to work tokens within their task ' +
          'patterns (handlers call it) and to admin tokens. 404 UNKNOWN_TASK when no process has defined or claimed the task.',
        tags: ['tasks'],
        params: TaskParams,
        body: SuspendBody,
        response: { 200: SuspendResponse, ...bodyErrors },
      },
    },
    async (request) => {
      const { task } = request.params;
      requireTask(request, task);
      return { task, suspendedUntil: iso(await offload.suspend(task, request.body.delayMs)) };
    },
  );

  // Ending a suspension early is an operator's decision, not a handler's: admin only.
  app.post(
    '/v1/tasks/:task/resume',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Resume a task: end its suspension now, so its queued jobs are claimed again',
        description:
          "What `offload task resume` does. Workers waiting for the task's jobs wake at once, in this process and in others. " +
          'Resuming a task that is not suspended changes nothing. 404 UNKNOWN_TASK when no process has defined or claimed the task.',
        tags: ['tasks'],
        params: TaskParams,
        response: { 200: ResumeResponse, ...errors },
      },
    },
    async (request) => {
      const { task } = request.params;
      requireTask(request, task);
      await offload.resume(task);
      return { task, suspendedUntil: null };
    },
  );

  app.get(
    '/v1/workers',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Workers seen in the last day: Node workers, HTTP agents (kind http), …',
        description:
          'An HTTP agent is recorded when it claims; `lastSeenAt` is its latest claim (refreshed at most every 10 s). Gearman worker connections ' +
          'are kind gearman, each one and the port itself. `busy`: jobs it holds now; `stopping`: asked to stop (POST /v1/workers/{id}/stop).',
        tags: ['workers'],
        querystring: EmptyQuery,
        response: { 200: WorkersResponse, ...errors },
      },
    },
    async (request) => {
      const workers = await offload.store.listWorkers({ seenSince: offload.clock.now() - 86_400_000 });
      return {
        workers: workers
          .filter((w) => w.tasks.length === 0 || w.tasks.some((t) => allowsTask(request.principal, t)))
          .map(({ stopRequestedAt, ...w }) => ({
            ...w,
            startedAt: iso(w.startedAt),
            lastSeenAt: iso(w.lastSeenAt),
            busy: w.busy ?? 0,
            stopping: stopRequestedAt != null,
          })),
      };
    },
  );
}
