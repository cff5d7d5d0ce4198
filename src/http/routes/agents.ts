/** The agent API: claim (long-poll), heartbeat, complete, fail, release, with lease tokens. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { unmapped } from '../../auth/allow-list.js';
import { isTaskRestricted } from '../../auth/permissions.js';
import type { AgentOutcome, ClaimOptions } from '../../client/leases.js';
import { isOffloadError, JobNotFoundError, LeaseLostError, type OffloadError, WorkerStoppingError } from '../../core/errors.js';
import type { ClaimedJob } from '../../store/store.js';
import { requireOpenTask, requireTask } from '../access.js';
import { type Api, type ApiContext, holdLongRequest, iso } from '../context.js';
import { claimedJobsJson } from '../dependencies.js';
import {
  ClaimBody,
  ClaimResponse,
  CompleteBody,
  errorResponses,
  FailBody,
  FinishBody,
  FinishResponse,
  HeartbeatBody,
  HeartbeatResponse,
  JobParams,
  OutcomeResponse,
  ReleaseBody,
} from '../schemas.js';
import { WorkSignal } from '../work-signal.js';

const errors = errorResponses(400, 401, 403, 404, 409, 413, 415, 429);

export function agentRoutes(app: Api, ctx: ApiContext): void {
  const { offload, options } = ctx;

  /** Who claims and what, after checking the token may work on those tasks; the agent's record refreshed. */
  async function claimOptionsOf(request: FastifyRequest, body: ClaimBody): Promise<ClaimOptions & { tasks: string[] }> {
    const tasks = [...new Set(body.tasks)];
    for (const t of tasks) requireOpenTask(request, t);
    const workerId = body.workerId ?? defaultWorkerId(request);
    const claimOptions = { tasks, workerId, max: body.max ?? 1, leaseMs: body.leaseMs };
    await ctx.agents.ensureTasks(tasks);
    await ctx.agents.seen({ workerId, host: unmapped(request.ip), tasks, concurrency: claimOptions.max });
    return claimOptions;
  }

  /**
   * Holds a claim until a job is runnable or `waitMs` passes, woken by the runnability signal.
   * `first` is what a claim made just before found (the long poll starts after it).
   */
  async function claimHeld(
    request: FastifyRequest,
    reply: FastifyReply,
    claimOptions: ClaimOptions & { tasks: string[] },
    waitMs: number,
    first?: ClaimedJob[],
  ) {
    if (first && first.length > 0) return first;
    const held = holdLongRequest(ctx, request, reply);
    const signal = new WorkSignal(offload, claimOptions.tasks);
    try {
      const deadline = offload.clock.now() + waitMs;
      if (first) await signal.wait(waitMs, held.signal);
      for (;;) {
        const jobs = await offload.claim(claimOptions);
        if (held.signal.aborted && jobs.length > 0) {
          // Nobody will receive them: give them straight back rather than let the lease run out.
          await Promise.all(jobs.map((j) => offload.release(j.id, { leaseToken: j.leaseToken }).catch(() => {})));
          return [];
        }
        const left = deadline - offload.clock.now();
        if (jobs.length > 0 || left <= 0 || held.signal.aborted) return jobs;
        await signal.wait(left, held.signal);
      }
    } finally {
      signal.close();
      held.done();
    }
  }

  app.post(
    '/v1/claim',
    {
      config: { access: 'work' },
      schema: {
        summary: 'Claim runnable jobs of the given tasks, each with a lease token',
        description:
          'When none is runnable and `waitMs` > 0, holds the request until one is (woken by submissions, not by polling) or `waitMs` ' +
          '(capped by the server, 60 s by default) passes; then `jobs` may be empty. Heartbeat each job before `leaseExpiresAt`, then complete, fail or release it. ' +
          'A job that waited for others (`after`, a step of a flow) comes with `dependencies`: each job it waited for, its name, state, result and error. ' +
          '409 WORKER_STOPPING once an operator asked this worker to stop (POST /v1/workers/{id}/stop): finish the jobs held, then exit.',
        tags: ['agents'],
        body: ClaimBody,
        response: { 200: ClaimResponse, ...errors },
      },
    },
    async (request, reply) => {
      const claimOptions = await claimOptionsOf(request, request.body);
      const waitMs = Math.min(request.body.waitMs ?? 0, options.maxLongPollMs);
      const jobs = waitMs === 0 ? await offload.claim(claimOptions) : await claimHeld(request, reply, claimOptions, waitMs);
      return { jobs: claimedJobsJson(request, jobs) };
    },
  );

  app.post(
    '/v1/jobs/finish',
    {
      config: { access: 'work' },
      schema: {
        summary: 'Record the outcomes of many claimed jobs at once, and claim the next ones in the same request',
        description:
          'Up to 100 outcomes (`complete`, `fail`, `release`, each with the fields of its single-job route), recorded in one transaction; ' +
          'each gets its own result, so one stale lease token (its `error` LEASE_LOST) does not stop the others. With `claim`, the next jobs are claimed ' +
          'in the same transaction as the outcomes; with `claim.waitMs` and nothing runnable, the request is then held as POST /v1/claim is. ' +
          'Outcomes sent again after a lost answer are answered as recorded (see the complete route). ' +
          'A worker an operator asked to stop gets its outcomes recorded and no new jobs; its next POST /v1/claim answers 409 WORKER_STOPPING.',
        tags: ['agents'],
        body: FinishBody,
        response: { 200: FinishResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { outcomes, claim } = request.body;
      // A worker asked to stop still records its outcomes; it claims nothing, and its next claim is refused.
      const claimOptions = claim && (await claimOptionsOf(request, claim).catch(unlessStopping));
      const refused = await refusedOutcomes(
        request,
        outcomes.map((o) => o.id),
      );
      const mine = outcomes.filter((o) => !refused.has(o.id));
      const r = await offload.finishMany(mine as AgentOutcome[], claimOptions);
      const byId = new Map(r.results.map((x) => [x.id, x]));
      const results = outcomes.map((o) => {
        const error = refused.get(o.id);
        const x = error ? { id: o.id, error } : byId.get(o.id)!;
        if ('error' in x) return { id: o.id, error: x.error.toJSON() };
        return { id: o.id, state: x.state, runAt: x.runAt === null ? null : iso(x.runAt) };
      });
      const waitMs = Math.min(claim?.waitMs ?? 0, options.maxLongPollMs);
      const jobs = claimOptions && waitMs > 0 ? await claimHeld(request, reply, claimOptions, waitMs, r.claimed) : r.claimed;
      return { results, jobs: claimedJobsJson(request, jobs) };
    },
  );

  /** For a token limited to some tasks: the outcomes of jobs it may not touch, each with its error (FORBIDDEN, JOB_NOT_FOUND). */
  async function refusedOutcomes(request: FastifyRequest, ids: string[]): Promise<Map<string, OffloadError>> {
    const out = new Map<string, OffloadError>();
    if (!isTaskRestricted(request.principal)) return out;
    const rows = new Map((await offload.store.getJobs({ ids })).map((row) => [row.id, row]));
    for (const id of ids) {
      const row = rows.get(id);
      try {
        if (!row) throw new JobNotFoundError(id);
        requireTask(request, row.task);
      } catch (err) {
        if (!isOffloadError(err)) throw err;
        out.set(id, err);
      }
    }
    return out;
  }

  app.post(
    '/v1/jobs/:id/heartbeat',
    {
      config: { access: 'work' },
      schema: {
        summary: "Extend a claimed job's lease and report progress",
        description:
          '409 LEASE_LOST when the lease token is stale (the lease expired and the job went to another worker, or it was cancelled): stop working on the job.',
        tags: ['agents'],
        params: JobParams,
        body: HeartbeatBody,
        response: { 200: HeartbeatResponse, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      // The task labels progress events (SSE filters by it) and is checked against the token's patterns.
      const task = request.body.progress || isTaskRestricted(request.principal) ? await taskOf(request, id) : undefined;
      const r = await fenced(id, () =>
        offload.heartbeat(id, { leaseToken: request.body.leaseToken, progress: request.body.progress, leaseMs: request.body.leaseMs, task }),
      );
      return { id, leaseExpiresAt: iso(r.leaseExpiresAt) };
    },
  );

  app.post(
    '/v1/jobs/:id/complete',
    {
      config: { access: 'work' },
      schema: {
        summary: "Record a claimed job's result",
        description:
          '409 LEASE_LOST when the lease token is stale: the result is not recorded. Safe to repeat: a complete sent again with the same ' +
          'lease token and the same result (its first answer was lost) answers 200 again; with another result it gets 409 LEASE_LOST (`details.state: succeeded`).',
        tags: ['agents'],
        params: JobParams,
        body: CompleteBody,
        response: { 200: OutcomeResponse, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (isTaskRestricted(request.principal)) await taskOf(request, id);
      await fenced(id, () => offload.complete(id, { leaseToken: request.body.leaseToken, result: request.body.result ?? null }));
      return { id, state: 'succeeded' as const, runAt: null };
    },
  );

  app.post(
    '/v1/jobs/:id/fail',
    {
      config: { access: 'work' },
      schema: {
        summary: 'Record a failed attempt',
        description:
          "The job is retried per its task's backoff while attempts remain (state queued, with runAt), else it fails. " +
          '`retryable: false` fails it at once. 409 LEASE_LOST when the lease token is stale. A fail that ended the job, sent again with the same ' +
          'lease token, answers 200 again; one that queued a retry cannot be told from a stale one once the job runs again, and gets 409.',
        tags: ['agents'],
        params: JobParams,
        body: FailBody,
        response: { 200: OutcomeResponse, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (isTaskRestricted(request.principal)) await taskOf(request, id);
      const b = request.body;
      const r = await fenced(id, () => offload.fail(id, { leaseToken: b.leaseToken, error: b.error, retryable: b.retryable, retryInMs: b.retryInMs }));
      return { id, state: r.state, runAt: r.runAt === null ? null : iso(r.runAt) };
    },
  );

  app.post(
    '/v1/jobs/:id/release',
    {
      config: { access: 'work' },
      schema: {
        summary: 'Give a claimed job back without counting the attempt',
        description: 'It runs again after `delayMs` (default at once), on any worker. 409 LEASE_LOST when the lease token is stale.',
        tags: ['agents'],
        params: JobParams,
        body: ReleaseBody,
        response: { 200: OutcomeResponse, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (isTaskRestricted(request.principal)) await taskOf(request, id);
      const runAt = offload.clock.now() + (request.body.delayMs ?? 0);
      await fenced(id, () => offload.release(id, { leaseToken: request.body.leaseToken, delayMs: request.body.delayMs }));
      return { id, state: 'queued' as const, runAt: iso(runAt) };
    },
  );

  /** LEASE_LOST carries the job's state, so an agent can tell a cancellation from a takeover. */
  async function fenced<T>(id: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof LeaseLostError) || err.state !== undefined) throw err;
      const row = await offload.store.getJob({ id });
      throw new LeaseLostError(id, row?.state);
    }
  }

  /** The job's task, after checking the token may work on it. */
  async function taskOf(request: FastifyRequest, id: string): Promise<string> {
    const row = await offload.store.getJob({ id });
    if (!row) throw new JobNotFoundError(id);
    requireTask(request, row.task);
    return row.task;
  }
}

function defaultWorkerId(request: FastifyRequest): string {
  const who = request.principal.name ?? 'local';
  return `http:${who}@${unmapped(request.ip)}`.replace(/[^A-Za-z0-9_.:@/-]/g, '_').slice(0, 200);
}

/** A claim refused because the worker was asked to stop becomes no claim (other errors go on). */
function unlessStopping(err: unknown): undefined {
  if (err instanceof WorkerStoppingError) return undefined;
  throw err;
}
