/** Tasks and workers: counts per task and state, purge, the workers the store knows. */
import { allowsTask } from '../../auth/permissions.js';
import type { JobState } from '../../core/job.js';
import { requireTask } from '../access.js';
import { type Api, type ApiContext, iso } from '../context.js';
import { EmptyQuery, ErrorSchema, PurgeQuery, PurgeResponse, TaskParams, TasksResponse, WorkersResponse } from '../schemas.js';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema };

export function taskRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get('/v1/tasks', {
    config: { access: 'read' },
    schema: {
      summary: 'Jobs per task and state, for every task the store knows (that the token may read)',
      tags: ['tasks'],
      querystring: EmptyQuery,
      response: { 200: TasksResponse, ...errors },
    },
  }, async (request) => ({ tasks: (await offload.counts()).filter((c) => allowsTask(request.principal, c.task)) }));

  app.delete('/v1/tasks/:task/jobs', {
    config: { access: 'admin' },
    schema: {
      summary: 'Purge: delete a task\'s jobs in the given states',
      description: 'Default state: queued. Running jobs cannot be purged (cancel them).',
      tags: ['tasks'],
      params: TaskParams,
      querystring: PurgeQuery,
      response: { 200: PurgeResponse, ...errors },
    },
  }, async (request) => {
    const { task } = request.params;
    requireTask(request, task);
    const states = (request.query.state ?? 'queued').split(',') as JobState[];
    return { task, deleted: await offload.purge(task, [...new Set(states)]) };
  });

  app.get('/v1/workers', {
    config: { access: 'read' },
    schema: {
      summary: 'Workers seen in the last day: Node workers, HTTP agents (kind http), …',
      description: 'An HTTP agent is recorded when it claims; `lastSeenAt` is its latest claim (refreshed at most every 10 s).',
      tags: ['workers'],
      querystring: EmptyQuery,
      response: { 200: WorkersResponse, ...errors },
    },
  }, async (request) => {
    const workers = await offload.store.listWorkers({ seenSince: offload.clock.now() - 86_400_000 });
    return {
      workers: workers
        .filter((w) => w.tasks.length === 0 || w.tasks.some((t) => allowsTask(request.principal, t)))
        .map((w) => ({ ...w, startedAt: iso(w.startedAt), lastSeenAt: iso(w.lastSeenAt) })),
    };
  });
}
