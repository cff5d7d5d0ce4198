/**
 * The worker's backend on a machine without the store: an Offload server's HTTP API. Each
 * transition the worker decides becomes one agent call (succeeded → complete, a retry → fail with
 * retryInMs, a final failure → fail with retryable false, a release → release with delayMs);
 * claims long-poll, so the server wakes the worker when work arrives.
 */
import type { Clock } from '../core/clock.js';
import type { DependencyPolicy } from '../core/dependencies.js';
import { isOffloadError } from '../core/errors.js';
import { decodePayload, type JobError, type JobState, payloadToJson } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { ResolvedTaskSettings } from '../core/task.js';
import { type CommitTarget, GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob, ClaimParams, DependencyRow, Touch, Transition, TransitionResult } from '../store/store.js';
import type { WorkerBackend } from '../worker/backend.js';
import type { LostLease } from '../worker/lease-keeper.js';
import { type ApiClient, isTransient } from './api-client.js';

export interface RemoteBackendOptions {
  /** How long a claim waits on the server for work (default 20 000 ms; the server caps it, at 60 s by default). */
  longPollMs?: number;
}

/** A claimed job as the API sends it. */
interface ClaimedJson {
  id: string;
  task: string;
  input: unknown;
  attempt: number;
  maxAttempts: number;
  priority: number;
  timeoutMs: number | null;
  batchId: string | null;
  createdAt: string;
  leaseToken: string;
  leaseExpiresAt: string;
  uniqueKey?: string | null;
  /** Sent for a job that waited for others: what each of them did. */
  dependencies?: DependencyJson[];
}

/** A job a claimed job waited for, as the API sends it. */
interface DependencyJson {
  id: string;
  name: string | null;
  task: string;
  state: JobState;
  result: unknown;
  error: { message: string; code?: string } | null;
  policy: DependencyPolicy;
}

const MAX_CLAIM = 100;
const MAX_OUTCOMES = 100;
const WORKER_ID = /[^A-Za-z0-9_.:@/-]/g;
const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,100}$/;

export class RemoteBackend implements WorkerBackend {
  readonly wakeups = 'long-poll';
  readonly commit: GroupCommit;
  private readonly longPollMs: number;
  /** The lease the jobs were claimed with: the server extends it on every heartbeat, progress too. */
  private leaseMs = 30_000;

  constructor(
    private readonly api: ApiClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    opts: RemoteBackendOptions = {},
  ) {
    this.longPollMs = opts.longPollMs ?? 20_000;
    this.commit = new GroupCommit(this.target, clock, logger);
  }

  get description(): string {
    return this.api.url;
  }

  async registerTasks({ tasks }: { tasks: { name: string; settings: ResolvedTaskSettings }[] }): Promise<void> {
    await Promise.all(tasks.map((t) => this.api.request('PUT', `/v1/tasks/${encodeURIComponent(t.name)}`, settingsBody(t.settings))));
  }

  async claim(p: { workerId: string; tasks: string[]; max: number; leaseMs: number; wait?: boolean; signal?: AbortSignal }): Promise<ClaimedJob[]> {
    this.leaseMs = p.leaseMs;
    const waitMs = p.wait ? this.longPollMs : 0;
    const body = this.claimBody(p, waitMs);
    const r = await this.api.request<{ jobs: ClaimedJson[] }>('POST', '/v1/claim', body, { signal: p.signal, holdMs: waitMs });
    return r.jobs.map(claimedJob);
  }

  /** Outcomes go to the server many a request, with the next claim in the same request. */
  private get target(): CommitTarget {
    return {
      description: this.api.url,
      finishJobs: (p) => this.finishJobs(p),
      claimJobs: (p) => this.claim({ ...p, wait: false }),
    };
  }

  /** POST /v1/jobs/finish, up to 100 outcomes a request; the claim rides with the first. An unreachable server throws (the group commit retries). */
  private async finishJobs(p: {
    transitions: Transition[];
    now: number;
    claim?: ClaimParams;
  }): Promise<{ results: TransitionResult[]; claimed: ClaimedJob[] }> {
    const results: TransitionResult[] = [];
    let claimed: ClaimedJob[] = [];
    for (let i = 0; i < p.transitions.length || (i === 0 && p.claim); i += MAX_OUTCOMES) {
      const part = p.transitions.slice(i, i + MAX_OUTCOMES);
      const r = await this.sendOutcomes(part, p.now, i === 0 ? p.claim : undefined);
      results.push(...r.results);
      if (i === 0) claimed = r.claimed;
    }
    return { results, claimed };
  }

  private async sendOutcomes(
    transitions: Transition[],
    now: number,
    claim: ClaimParams | undefined,
    split = true,
  ): Promise<{ results: TransitionResult[]; claimed: ClaimedJob[] }> {
    const body = { outcomes: transitions.map((t) => agentOutcome(t, now)), claim: claim && this.claimBody(claim, 0) };
    let r: { results: ({ id: string } | { id: string; error: { code: string; message: string } })[]; jobs: ClaimedJson[] };
    try {
      r = await this.api.request('POST', '/v1/jobs/finish', body);
    } catch (err) {
      // One result too large for the server makes the whole request too large: send them one by one.
      if (split && isOffloadError(err) && err.code === 'PAYLOAD_TOO_LARGE') return this.sendOneByOne(transitions, now, claim);
      throw err;
    }
    const results = r.results.map((x, n): TransitionResult => {
      if (!('error' in x)) return { ok: true, task: null, concurrencyKey: null };
      if (x.error.code !== 'LEASE_LOST' && x.error.code !== 'JOB_NOT_FOUND') {
        this.logger.error(
          { error: x.error, job: transitions[n].id, server: this.api.url },
          'the server refused the outcome of a job; its lease will expire and the job will run again',
        );
      }
      return { ok: false, task: null, concurrencyKey: null };
    });
    return { results, claimed: r.jobs.map(claimedJob) };
  }

  private async sendOneByOne(
    transitions: Transition[],
    now: number,
    claim: ClaimParams | undefined,
  ): Promise<{ results: TransitionResult[]; claimed: ClaimedJob[] }> {
    const results: TransitionResult[] = [];
    for (const t of transitions) {
      try {
        results.push(...(await this.sendOutcomes([t], now, undefined, false)).results);
      } catch (err) {
        if (!(isOffloadError(err) && err.code === 'PAYLOAD_TOO_LARGE' && t.to === 'succeeded')) throw err;
        results.push(...(await this.sendOutcomes([resultTooLarge(t)], now, undefined, false)).results);
      }
    }
    const claimed = claim ? await this.claim({ ...claim, wait: false }) : [];
    return { results, claimed };
  }

  private claimBody(p: { workerId: string; tasks: string[]; max: number; leaseMs: number }, waitMs: number) {
    return { tasks: p.tasks, workerId: p.workerId.replace(WORKER_ID, '_').slice(0, 200), max: Math.min(p.max, MAX_CLAIM), leaseMs: p.leaseMs, waitMs };
  }

  /** Heartbeats, one per job, all at once. An unreachable server throws: a lost lease stays lost, so the next heartbeat sees it. */
  async touch({ touches, leaseMs }: { touches: Touch[]; leaseMs: number | null }): Promise<{ lost: LostLease[] }> {
    const lost: LostLease[] = [];
    let error: unknown;
    await Promise.all(
      touches.map(async (t) => {
        const progress = t.progress && { ...t.progress, done: Math.max(0, t.progress.done), total: Math.max(0, t.progress.total) };
        try {
          await this.api.request('POST', `/v1/jobs/${t.id}/heartbeat`, { leaseToken: t.token, progress, leaseMs: leaseMs ?? this.leaseMs });
        } catch (err) {
          if (isLeaseGone(err)) lost.push({ id: t.id, cancelled: (err as { details?: { state?: string } }).details?.state === 'cancelled' });
          else error ??= err;
        }
      }),
    );
    if (error !== undefined) throw error;
    return { lost };
  }

  async suspendTask({ task, until }: { task: string; until: number }): Promise<void> {
    const delayMs = Math.max(1, Math.round(until - this.clock.now()));
    await this.api.request('POST', `/v1/tasks/${encodeURIComponent(task)}/suspend`, { delayMs });
  }

  // The server records an agent on each of its claims (GET /v1/workers, kind http), and refuses
  // them with WORKER_STOPPING once an operator asked it to stop: the claim tells, not this.
  async saveWorker(): Promise<undefined> {
    return undefined;
  }
  async removeWorker(): Promise<void> {}
  subscribe(): () => void {
    return () => {};
  }
  async nextRunAt(): Promise<number | null> {
    return null;
  }

  isTransient(err: unknown): boolean {
    return isTransient(err);
  }
}

/** The stale-lease answers: the job went to someone else, was cancelled, or no longer exists. */
function isLeaseGone(err: unknown): boolean {
  return isOffloadError(err) && (err.code === 'LEASE_LOST' || err.code === 'JOB_NOT_FOUND');
}

/** A transition as the API's outcome: complete, fail (with retryInMs for a retry, retryable false for a final failure) or release. */
function agentOutcome(t: Transition, now: number): Record<string, unknown> {
  switch (t.to) {
    case 'succeeded':
      return { id: t.id, outcome: 'complete', leaseToken: t.token, result: payloadToJson(decodePayload(t.result)) };
    case 'failed':
      return { id: t.id, outcome: 'fail', leaseToken: t.token, error: errorBody(t.error), retryable: false };
    case 'queued': {
      const delay = Math.max(0, Math.round(t.runAt - now));
      return t.error === null
        ? { id: t.id, outcome: 'release', leaseToken: t.token, delayMs: delay }
        : { id: t.id, outcome: 'fail', leaseToken: t.token, error: errorBody(t.error), retryInMs: delay };
    }
  }
}

/** A recorded JobError (JSON) as the API's `{message, code?, stack?}`, within its limits. */
function errorBody(recorded: string): { message: string; code?: string; stack?: string } {
  const e = JSON.parse(recorded) as JobError;
  const out: { message: string; code?: string; stack?: string } = { message: (e.message || e.name || 'Error').slice(0, 10_000) };
  if (e.code && ERROR_CODE.test(e.code)) out.code = e.code;
  if (e.stack) out.stack = e.stack.slice(0, 10_000);
  return out;
}

/** A result the server cannot take is a failure of the job, not of the worker. */
function resultTooLarge(t: Transition & { to: 'succeeded' }): Transition {
  const error = JSON.stringify({
    message: "the handler's result is larger than the server accepts (HTTP 413); store it elsewhere and return a reference",
    code: 'PAYLOAD_TOO_LARGE',
  });
  return { to: 'failed', id: t.id, token: t.token, error };
}

function claimedJob(j: ClaimedJson): ClaimedJob {
  return {
    id: j.id,
    task: j.task,
    input: JSON.stringify(j.input ?? null),
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    priority: j.priority,
    timeoutMs: j.timeoutMs,
    batchId: j.batchId,
    createdAt: Date.parse(j.createdAt),
    leaseToken: j.leaseToken,
    leaseExpiresAt: Date.parse(j.leaseExpiresAt),
    uniqueKey: j.uniqueKey ?? null,
    // The server sends what the job waited for with the claim: the worker has nothing to read.
    ...(j.dependencies && { hasDependencies: true, dependencies: j.dependencies.map((d) => dependencyRow(j.id, d)) }),
  };
}

/** A dependency as the handler's ctx.dependencies is built from: result and error as JSON text. */
function dependencyRow(jobId: string, d: DependencyJson): DependencyRow {
  return {
    jobId,
    depId: d.id,
    name: d.name,
    policy: d.policy,
    task: d.task,
    state: d.state,
    result: d.result === null || d.result === undefined ? null : JSON.stringify(d.result),
    error: d.error === null || d.error === undefined ? null : JSON.stringify(d.error),
  };
}

/** Resolved settings as PUT /v1/tasks/:task takes them. */
function settingsBody(s: ResolvedTaskSettings): Record<string, unknown> {
  const body: Record<string, unknown> = {
    maxAttempts: s.maxAttempts,
    backoff: s.backoff,
    timeoutMs: s.timeoutMs,
    priority: s.priority,
    concurrency: s.concurrency,
    concurrencyPerKey: s.concurrencyPerKey,
    rateLimit: s.rateLimit ?? null,
    retention: s.retention,
  };
  if (s.inputSchema) body.input = s.inputSchema;
  if (s.description !== null) body.description = s.description;
  return body;
}
