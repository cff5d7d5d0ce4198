/**
 * Working on jobs by hand, one call at a time: what HTTP agents, Gearman workers and custom
 * runtimes use. Every call after `claim` carries the lease token; a stale token (the lease
 * expired and the job went to someone else, or it was cancelled) is a LeaseLostError.
 */

import type { Clock } from '../core/clock.js';
import { isPushWorkerId } from '../core/endpoint-group.js';
import { InvalidOptionError, isOffloadError, JobNotFoundError, LeaseLostError, type OffloadError } from '../core/errors.js';
import type { JobProgress, JobRow, Payload } from '../core/job.js';
import type { TaskRegistry } from '../core/registry.js';
import { encodeResult, failFor } from '../core/transitions.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob, ClaimParams, Store, Transition } from '../store/store.js';

export interface ClaimOptions {
  tasks: string[];
  workerId?: string;
  /** Most jobs to claim (default 1, at most 100). */
  max?: number;
  /** Lease length (default 30 000 ms, at most 1 hour). */
  leaseMs?: number;
}

export interface FailOptions {
  leaseToken: string;
  error: string | { message: string; code?: string; stack?: string };
  /** false: fail now, whatever attempts remain (default true). */
  retryable?: boolean;
  /** Run the next attempt after this long instead of the task's backoff. */
  retryInMs?: number;
}

export interface LeaseDeps {
  store: Store;
  clock: Clock;
  registry: TaskRegistry;
  /** Outcomes are written with everyone else's, one transaction per turn. */
  commits: GroupCommit;
}

/** A call by hand waits this long for a store that is briefly away before it fails (its caller may send it again). */
const RETRY_FOR_MS = 2000;

const MAX_LEASE_MS = 3_600_000;

export async function claim(deps: LeaseDeps, opts: ClaimOptions): Promise<ClaimedJob[]> {
  return deps.store.claimJobs({ ...claimParams(opts), now: deps.clock.now() });
}

function claimParams(opts: ClaimOptions): Omit<ClaimParams, 'now'> {
  const max = opts.max ?? 1;
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!Array.isArray(opts.tasks) || opts.tasks.length === 0 || opts.tasks.some((t) => typeof t !== 'string')) {
    throw new InvalidOptionError('tasks', 'give at least one task name');
  }
  if (!Number.isSafeInteger(max) || max < 1 || max > 100) throw new InvalidOptionError('max', 'must be an integer from 1 to 100');
  if (typeof opts.workerId === 'string' && isPushWorkerId(opts.workerId))
    throw new InvalidOptionError('workerId', 'ids starting with "push:" are kept for the push dispatchers of endpoint groups; choose another');
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1000 || leaseMs > MAX_LEASE_MS)
    throw new InvalidOptionError('leaseMs', `must be an integer from 1000 to ${MAX_LEASE_MS}`);
  return { workerId: opts.workerId ?? 'agent', tasks: opts.tasks, max, leaseMs };
}

export async function heartbeat(
  deps: LeaseDeps,
  id: string,
  opts: { leaseToken: string; progress?: JobProgress; leaseMs?: number; task?: string },
): Promise<{ leaseExpiresAt: number }> {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1000 || leaseMs > MAX_LEASE_MS)
    throw new InvalidOptionError('leaseMs', `must be an integer from 1000 to ${MAX_LEASE_MS}`);
  const now = deps.clock.now();
  // The task, when the caller knows it, only labels the job:progress event.
  const touch = { id, token: opts.leaseToken, progress: opts.progress, task: opts.task };
  const { lost } = await deps.store.touchJobs({ touches: [touch], leaseExpiresAt: now + leaseMs, now });
  if (lost.length) throw new LeaseLostError(id);
  return { leaseExpiresAt: now + leaseMs };
}

/** One outcome an agent reports for a job it holds. */
export type AgentOutcome =
  | { id: string; leaseToken: string; outcome: 'complete'; result?: unknown }
  | ({ id: string; outcome: 'fail' } & FailOptions)
  | { id: string; leaseToken: string; outcome: 'release'; delayMs?: number };

/** What became of one outcome: the job's new state, or why it was not recorded. */
export type OutcomeResult = { id: string; state: 'succeeded' | 'queued' | 'failed'; runAt: number | null } | { id: string; error: OffloadError };

export async function complete(deps: LeaseDeps, id: string, opts: { leaseToken: string; result?: unknown }): Promise<void> {
  unwrap(await finishMany(deps, [{ id, outcome: 'complete', ...opts }]));
}

/** Records a failed attempt: retried per the task's policy while attempts remain, else failed. */
export async function fail(deps: LeaseDeps, id: string, opts: FailOptions): Promise<{ state: 'queued' | 'failed'; runAt: number | null }> {
  const r = unwrap(await finishMany(deps, [{ id, outcome: 'fail', ...opts }]));
  return { state: r.state as 'queued' | 'failed', runAt: r.runAt };
}

/** Gives the job back without counting an attempt, to run again after `delayMs`. */
export async function release(deps: LeaseDeps, id: string, opts: { leaseToken: string; delayMs?: number }): Promise<void> {
  unwrap(await finishMany(deps, [{ id, outcome: 'release', ...opts }]));
}

/**
 * Records many outcomes in one transaction (with everyone else's of this turn), each fenced by
 * its lease token; one that cannot be recorded gets its own error and does not stop the others.
 * A repeat of an outcome already recorded (its first answer lost) counts as recorded.
 */
export async function finishMany(deps: LeaseDeps, outcomes: AgentOutcome[]): Promise<OutcomeResult[]> {
  return (await finishAndClaim(deps, outcomes)).results;
}

/** `finishMany`, and a claim of the next jobs in the same transaction. */
export async function finishAndClaim(
  deps: LeaseDeps,
  outcomes: AgentOutcome[],
  next?: ClaimOptions,
): Promise<{ results: OutcomeResult[]; claimed: ClaimedJob[] }> {
  const params = next && claimParams(next);
  const now = deps.clock.now();
  const failing = outcomes.filter((o) => o.outcome === 'fail').map((o) => o.id);
  const rows = new Map(failing.length ? (await deps.store.getJobs({ ids: failing })).map((r) => [r.id, r]) : []);
  const built = await Promise.all(outcomes.map((o) => transitionFor(deps, o, rows.get(o.id), now).catch((err: unknown) => err)));
  // Handed to the group commit in one turn, the claim last: one transaction for all of them.
  const writing = Promise.all(
    built.map((t) => (t instanceof Error || isOffloadError(t) ? Promise.resolve(t) : deps.commits.finish(t as Transition, { retryForMs: RETRY_FOR_MS }))),
  );
  const claiming = params ? deps.commits.claim(params) : Promise.resolve([]);
  const [written, claimed] = await Promise.all([writing, claiming]);
  const lostIds = outcomes.filter((_, i) => written[i] === 'lost').map((o) => o.id);
  const states = new Map(lostIds.length ? (await deps.store.getJobs({ ids: lostIds })).map((r) => [r.id, r.state]) : []);
  const results = outcomes.map((o, i): OutcomeResult => {
    const w = written[i];
    if (w === 'lost') return { id: o.id, error: new LeaseLostError(o.id, states.get(o.id)) };
    if (w !== 'recorded') {
      if (isOffloadError(w)) return { id: o.id, error: w };
      throw w;
    }
    const t = built[i] as Transition;
    if (t.to === 'queued') return { id: o.id, state: 'queued', runAt: t.runAt };
    return { id: o.id, state: t.to, runAt: null };
  });
  return { results, claimed };
}

/** The transition an agent's outcome asks for (a failure by the task's retry policy), or a named error. */
async function transitionFor(deps: LeaseDeps, o: AgentOutcome, row: JobRow | undefined, now: number): Promise<Transition> {
  switch (o.outcome) {
    case 'complete': {
      const encoded = encodeResult(o.result);
      if (!encoded.ok) throw new InvalidOptionError('result', `cannot be stored as JSON (${encoded.problem})`);
      return { to: 'succeeded', id: o.id, token: o.leaseToken, result: encoded.payload as Payload | null };
    }
    case 'release': {
      const delay = o.delayMs ?? 0;
      if (!Number.isFinite(delay) || delay < 0) throw new InvalidOptionError('delayMs', 'must be a non-negative number');
      return { to: 'queued', id: o.id, token: o.leaseToken, runAt: now + Math.round(delay), error: null, countAttempt: false };
    }
    case 'fail': {
      if (!row) throw new JobNotFoundError(o.id);
      if (o.retryInMs !== undefined && (!Number.isFinite(o.retryInMs) || o.retryInMs < 0))
        throw new InvalidOptionError('retryInMs', 'must be a non-negative number');
      const settings = await deps.registry.settingsFor(row.task);
      // A job no longer running: the fence decides (a repeat of a failure that ended it counts as recorded).
      const attempt = { id: o.id, token: o.leaseToken, attempt: row.attempt, maxAttempts: row.maxAttempts };
      const { transition } = failFor(attempt, settings, agentError(o.error), now, o.retryable === false || row.state !== 'running');
      if (transition.to === 'queued' && o.retryInMs !== undefined) transition.runAt = now + Math.round(o.retryInMs);
      return transition;
    }
  }
}

function unwrap(results: OutcomeResult[]): { state: string; runAt: number | null } {
  const [r] = results;
  if ('error' in r) throw r.error;
  return r;
}

/** The error an agent reported, as an Error without a stack of ours (ours would say nothing). */
function agentError(reported: FailOptions['error']): Error {
  const r = typeof reported === 'string' ? { message: reported } : reported;
  if (typeof r?.message !== 'string') throw new InvalidOptionError('error', 'must be a string or { message, code?, stack? }');
  const err = new Error(r.message.slice(0, 10_000)) as Error & { code?: string };
  err.stack = typeof r.stack === 'string' ? r.stack.slice(0, 10_000) : undefined;
  if (typeof r.code === 'string') err.code = r.code;
  return err;
}
