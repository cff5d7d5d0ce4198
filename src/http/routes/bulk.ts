/** POST /v1/jobs/bulk: retry, cancel or delete many jobs at once, by ids or by a filter. */
import { InvalidRequestError } from '../../core/errors.js';
import { requireTask } from '../access.js';
import { BulkRun } from '../bulk-actions.js';
import type { Api, ApiContext } from '../context.js';
import { BulkBody, BulkResponse } from '../dashboard-schemas.js';
import { isNarrowed, listOptionsOf } from '../job-filter.js';
import { errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 413, 415, 429);

export function bulkRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.post(
    '/v1/jobs/bulk',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Retry, cancel or delete many jobs: up to 1000 by id, or every job a filter matches',
        description:
          'Give `ids` or `filter` (the filters of GET /v1/jobs, at least one). Each job gets the rules of its single-job route: ' +
          "retry takes failed or cancelled jobs, cancel waiting, queued or running ones (a running job's worker sees its signal abort), " +
          'delete takes finished jobs only (succeeded, failed, cancelled) and not one that a job still to run waits for. ' +
          'The others are skipped and counted in `reasons` by code. A filter is walked newest first in pages of 500, each acted on in its own ' +
          'short writes, so no transaction spans more than a page; jobs submitted meanwhile are not reached. A token narrowed to some tasks ' +
          'must name one in `filter.task`, and may name only jobs of its tasks in `ids` (403).',
        tags: ['jobs'],
        body: BulkBody,
        response: { 200: BulkResponse, ...errors },
      },
    },
    async (request) => {
      const { action, ids, filter } = request.body;
      if ((ids === undefined) === (filter === undefined)) throw new InvalidRequestError('body', 'must have exactly one of "ids" and "filter"');
      const run = new BulkRun(offload, action);
      let outcome: Awaited<ReturnType<BulkRun['byIds']>>;
      if (ids !== undefined) outcome = await run.byIds(ids, (task) => requireTask(request, task));
      else {
        if (!isNarrowed(filter!))
          throw new InvalidRequestError('body.filter', 'names no filter; give at least one (task, state, batch, flow, since, until, q)');
        outcome = await run.byFilter(listOptionsOf(request, filter!, 'body.filter.'));
      }
      request.auditTargets = outcome.changedIds;
      const { changedIds: _ids, ...answer } = outcome;
      return answer;
    },
  );
}
