/** GET /v1/audit (admin): the actions taken through this API, newest first (see audit-log.ts). */
import { decodeCursor, encodeCursor } from '../../client/ids.js';
import { requireEveryTask } from '../access.js';
import type { Api, ApiContext } from '../context.js';
import { iso } from '../context.js';
import { AuditQuery, AuditResponse } from '../dashboard-schemas.js';
import { errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 429);

export function auditRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The audit log: every action taken through this API, newest first',
        description:
          'One entry per request that acts (not GET), by any token or by the local caller without one: who, the method and route, ' +
          "the ids acted on (up to 100), the gist of the body (secrets, inputs and results left out), the answer's status, when. " +
          'Work and submissions are not actions and are not logged: the routes of scope work (claim, heartbeat, complete, fail, release, finish, task settings), ' +
          'push callbacks, and POST /v1/jobs, /v1/batches, /v1/flows (each job records who submitted it in `origin`). ' +
          'Entries are written just after the answer and kept 90 days (the pruner deletes older ones).',
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: AuditResponse, ...errors },
      },
    },
    async (request) => {
      requireEveryTask(request, 'the audit log');
      const limit = request.query.limit ?? 100;
      const beforeId = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      const rows = await offload.store.listAudit({ beforeId, limit: limit + 1 });
      const page = rows.slice(0, limit);
      return {
        entries: page.map((e) => ({ ...e, summary: e.summary === null ? null : (JSON.parse(e.summary) as unknown), at: iso(e.at) })),
        nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].id) : null,
      };
    },
  );
}
