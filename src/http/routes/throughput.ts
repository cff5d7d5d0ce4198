/** Throughput: jobs finished per task and minute over the last minutes, from the buckets the store keeps (the dashboard's charts). */
import { Type } from 'typebox';
import { allowsTask } from '../../auth/permissions.js';
import type { ThroughputRow } from '../../store/store.js';
import { requireTask } from '../access.js';
import { type Api, type ApiContext, iso } from '../context.js';
import { errorResponses, TaskName } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 429);

const ThroughputQuery = Type.Object(
  {
    minutes: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1440, description: 'How many minutes back, the current one included (default 60; at most a day).' }),
    ),
    task: Type.Optional(TaskName),
  },
  { additionalProperties: false },
);

const Series = (description: string) => Type.Array(Type.Integer({ minimum: 0 }), { description });

const TaskThroughput = Type.Object({
  task: Type.String(),
  succeeded: Series('Jobs that succeeded, one number per minute from `since` on, oldest first.'),
  failed: Series('Jobs that failed for good (no attempt left, or a permanent error), per minute.'),
  retried: Series('Failed attempts sent back to the queue to be tried again, per minute.'),
});

const ThroughputResponse = Type.Object({
  since: Type.String({ format: 'date-time', description: 'The start of the first minute (ISO 8601, UTC); the last is the current one.' }),
  minutes: Type.Integer({ description: 'How many minutes each series holds.' }),
  tasks: Type.Array(TaskThroughput, { description: 'By task name; a task that finished nothing in these minutes is left out.' }),
});

type TaskSeries = { task: string; succeeded: number[]; failed: number[]; retried: number[] };

/** The store's buckets (a row per task and minute that had any) as one dense series per task, ready to chart. */
function seriesOf(rows: ThroughputRow[], since: number, minutes: number): TaskSeries[] {
  const byTask = new Map<string, TaskSeries>();
  const zeros = () => new Array<number>(minutes).fill(0);
  for (const r of rows) {
    const k = Math.floor((r.minute - since) / 60_000);
    if (k < 0 || k >= minutes) continue;
    let s = byTask.get(r.task);
    if (!s) byTask.set(r.task, (s = { task: r.task, succeeded: zeros(), failed: zeros(), retried: zeros() }));
    s.succeeded[k] += r.succeeded;
    s.failed[k] += r.failed;
    s.retried[k] += r.retried;
  }
  return [...byTask.values()].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
}

export function throughputRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/throughput',
    {
      config: { access: 'read' },
      schema: {
        summary:
          'Jobs finished per task and minute (succeeded, failed, retried) over the last minutes, as one series per task, for the tasks the token may read',
        description: 'Kept by the store as counters, not counted from jobs: as fast with millions of jobs as with a few. Purging or pruning jobs leaves them.',
        tags: ['tasks'],
        querystring: ThroughputQuery,
        response: { 200: ThroughputResponse, ...errors },
      },
    },
    async (request) => {
      const { task, minutes = 60 } = request.query;
      if (task !== undefined) requireTask(request, task);
      const { since, rows } = await offload.throughput({ minutes, task });
      const allowed = rows.filter((r) => allowsTask(request.principal, r.task));
      return { since: iso(since), minutes, tasks: seriesOf(allowed, since, minutes) };
    },
  );
}
