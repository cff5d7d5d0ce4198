/** POST /v1/workers/:id/stop (admin): a worker claims no more jobs and finishes those it holds. */
import { allowsTask } from '../../auth/permissions.js';
import { WorkerNotFoundError } from '../../core/errors.js';
import { requireTask } from '../access.js';
import type { Api, ApiContext } from '../context.js';
import { WorkerParams, WorkerStopResponse } from '../dashboard-schemas.js';
import { errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 429);

export function workerRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.post(
    '/v1/workers/:id/stop',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Ask a worker to stop: it claims no more jobs and finishes those it holds',
        description:
          'The worker learns it the next time it is heard from: a Node worker (`offload.work()`, `offload worker`) at its next heartbeat ' +
          '(a third of its lease, 10 s by default), then ends as `stop-requested`; an HTTP agent or remote worker at its next claim, answered 409 WORKER_STOPPING ' +
          "(at once through this server, within 10 s through another); a Gearman worker connection at the port's next heartbeat, after which it is handed no job. " +
          'Its record shows `stopping: true` in GET /v1/workers. 404 WORKER_NOT_FOUND when no worker has this id.',
        tags: ['workers'],
        params: WorkerParams,
        response: { 200: WorkerStopResponse, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const worker = (await offload.store.listWorkers({})).find((w) => w.id === id);
      if (!worker) throw new WorkerNotFoundError(id);
      // A token narrowed to some tasks stops only workers that run some of them (as GET /v1/workers shows it only those).
      if (worker.tasks.length > 0 && !worker.tasks.some((t) => allowsTask(request.principal, t))) requireTask(request, worker.tasks[0]!);
      if (!(await offload.store.requestWorkerStop({ id, now: offload.clock.now() }))) throw new WorkerNotFoundError(id);
      ctx.agents.stopRequested(id);
      return { id, stopping: true as const };
    },
  );
}
