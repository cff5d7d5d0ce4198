/** GET /v1/errors: failed jobs grouped by task and error message, for a dashboard's errors page. */
import type { Api, ApiContext } from '../context.js';
import { iso } from '../context.js';
import { ErrorGroupsResponse, ErrorsQuery } from '../dashboard-schemas.js';
import { listOptionsOf, timeOf } from '../job-filter.js';
import { errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 429);
const DAY_MS = 86_400_000;

export function errorRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/errors',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Failed jobs grouped by task and error message, most recent first',
        description:
          'Jobs that failed for good (attempts spent, or a permanent error) and finished at or after `since` (default: a day ago), ' +
          'grouped by task and their error message: how many, the latest failure, the newest job as a sample (GET /v1/jobs/{id}). ' +
          'Errors of earlier attempts that were retried are not counted (they are on each job, in `errors`). ' +
          'A token restricted to some tasks must name one of them in `task`.',
        tags: ['jobs'],
        querystring: ErrorsQuery,
        response: { 200: ErrorGroupsResponse, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      listOptionsOf(request, { task: q.task }, 'query.');
      const since = timeOf(q.since, 'query.since') ?? offload.clock.now() - DAY_MS;
      const groups = await offload.store.groupErrors({ task: q.task, since, limit: q.limit ?? 100 });
      return { errors: groups.map((g) => ({ ...g, lastAt: iso(g.lastAt) })) };
    },
  );
}
