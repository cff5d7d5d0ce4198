/**
 * Working on jobs by hand, one call at a time: what HTTP agents, Gearman workers and custom
 * runtimes use. Every call after `claim` carries the lease token; a stale token (the lease
 * expired and the job went to someone else, or it was cancelled) is a LeaseLostError.
 */
import type { Clock } from '../core/clock.js';
import { InvalidOptionError, JobNotFoundError, LeaseLostError } from '../core/errors.js';
import type { JobProgress, Payload } from '../core/job.js';
import type { TaskRegistry } from '../core/registry.js';
import { alreadyRecorded, encodeResult, failFor } from '../core/transitions.js';
import type { ClaimedJob, Store, Transition } from '../store/store.js';

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
}

const MAX_LEASE_MS = 3_600_000;

export async function claim(deps: LeaseDeps, opts: ClaimOptions): Promise<ClaimedJob[]> {
  const max = opts.max ?? 1;
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!Array.isArray(opts.tasks) || opts.tasks.length === 0 || opts.tasks.some((t) => typeof t !== 'string')) {
    throw new InvalidOptionError('tasks', 'give at least one task name');
  }
  if (!Number.isSafeInteger(max) || max < 1 || max > 100) throw new InvalidOptionError('max', 'must be an integer from 1 to 100');
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1000 || leaseMs > MAX_LEASE_MS)
    throw new InvalidOptionError('leaseMs', `must be an integer from 1000 to ${MAX_LEASE_MS}`);
  return deps.store.claimJobs({ workerId: opts.workerId ?? 'agent', tasks: opts.tasks, max, leaseMs, now: deps.clock.now() });
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

export async function complete(deps: LeaseDeps, id: string, opts: { leaseToken: string; result?: unknown }): Promise<void> {
  const encoded = encodeResult(opts.result);
  if (!encoded.ok) throw new InvalidOptionError('result', `cannot be stored as JSON (${encoded.problem})`);
  await finish(deps, { to: 'succeeded', id, token: opts.leaseToken, result: encoded.payload as Payload | null });
}

/** Records a failed attempt: retried per the task's policy while attempts remain, else failed. */
export async function fail(deps: LeaseDeps, id: string, opts: FailOptions): Promise<{ state: 'queued' | 'failed'; runAt: number | null }> {
  const row = await deps.store.getJob({ id });
  if (!row) throw new JobNotFoundError(id);
  if (row.state !== 'running') {
    // The answer to an earlier delivery of this failure was lost: it stands.
    if (alreadyRecorded({ to: 'failed', id, token: opts.leaseToken, error: '' }, row)) return { state: 'failed', runAt: null };
    throw new LeaseLostError(id, row.state);
  }
  if (opts.retryInMs !== undefined && (!Number.isFinite(opts.retryInMs) || opts.retryInMs < 0))
    throw new InvalidOptionError('retryInMs', 'must be a non-negative number');
  const settings = await deps.registry.settingsFor(row.task);
  const err = agentError(opts.error);
  const now = deps.clock.now();
  const attempt = { id, token: opts.leaseToken, attempt: row.attempt, maxAttempts: row.maxAttempts };
  const { transition } = failFor(attempt, settings, err, now, opts.retryable === false);
  if (transition.to === 'queued' && opts.retryInMs !== undefined) transition.runAt = now + Math.round(opts.retryInMs);
  await finish(deps, transition);
  return transition.to === 'queued' ? { state: 'queued', runAt: transition.runAt } : { state: 'failed', runAt: null };
}

/** Gives the job back without counting an attempt, to run again after `delayMs`. */
export async function release(deps: LeaseDeps, id: string, opts: { leaseToken: string; delayMs?: number }): Promise<void> {
  const delay = opts.delayMs ?? 0;
  if (!Number.isFinite(delay) || delay < 0) throw new InvalidOptionError('delayMs', 'must be a non-negative number');
  const now = deps.clock.now();
  await finish(deps, { to: 'queued', id, token: opts.leaseToken, runAt: now + Math.round(delay), error: null, countAttempt: false });
}

/** Records one transition; a repeat of one already recorded (its answer was lost) succeeds too. */
async function finish(deps: LeaseDeps, transition: Transition): Promise<void> {
  const r = await deps.store.finishJobs({ transitions: [transition], now: deps.clock.now() });
  if (r.results[0].ok) return;
  const row = await deps.store.getJob({ id: transition.id });
  if (!alreadyRecorded(transition, row)) throw new LeaseLostError(transition.id, row?.state);
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
