/** Throughput: jobs finished per task and minute over the last minutes, from the buckets the store keeps (the dashboard's charts). */
import { Type } from 'typebox';
import { allowsTask } from '../../auth/permissions.js';
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

const ThroughputBucket = Type.Object({
  task: Type.String(),
  minute: Type.String({ format: 'date-time', description: 'The start of the minute, ISO 8601, UTC.' }),
  succeeded: Type.Integer(),
  failed: Type.Integer({ description: 'Failed for good (no attempt left, or a permanent error).' }),
  retried: Type.Integer({ description: 'Failed attempts sent back to the queue to be tried again.' }),
});

const ThroughputResponse = Type.Object({
  since: Type.String({ format: 'date-time', description: 'The start of the first minute covered.' }),
  buckets: Type.Array(ThroughputBucket, { description: 'Oldest minute first, then by task; a minute in which a task finished nothing has no bucket.' }),
});

export function throughputRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/throughput',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Jobs finished per task and minute (succeeded, failed, retried), for the tasks the token may read',
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
      return {
        since: iso(since),
        buckets: rows
          .filter((r) => allowsTask(request.principal, r.task))
          .map((r) => ({ task: r.task, minute: iso(r.minute), succeeded: r.succeeded, failed: r.failed, retried: r.retried })),
      };
    },
  );
}
