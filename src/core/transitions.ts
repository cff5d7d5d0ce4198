import { backoffDelay } from './backoff.js';
import { HANDLER_ERROR_CODE, INVALID_RESULT_CODE } from './errors.js';
import { type JobRow, jobErrorOf, type Payload } from './job.js';
import { type AnyOutcome, isOutcome } from './outcomes.js';
import type { ResolvedTaskSettings } from './task.js';

/** What a worker records of one attempt: the transition the job makes, fenced by its lease token. */
export type Transition =
  | { to: 'succeeded'; id: string; token: string; result: Payload | null }
  | { to: 'failed'; id: string; token: string; error: string }
  /** Back to the queue: a retry after a failed attempt (`error` set), or a release (no error). */
  | { to: 'queued'; id: string; token: string; runAt: number; error: string | null; countAttempt: boolean };

export interface AttemptInfo {
  id: string;
  token: string;
  attempt: number;
  maxAttempts: number;
}

export type HandlerResult = { value: unknown } | { error: unknown };

/** What to record for an attempt, and whether the whole task must pause (suspendTask). */
export interface Decision {
  transition: Transition;
  suspendUntil?: number;
}

/** Maps a handler's outcome to exactly one state transition (see docs/guides/job-lifecycle.md). */
export function decide(attempt: AttemptInfo, settings: ResolvedTaskSettings, outcome: HandlerResult, now: number): Decision {
  const { id, token } = attempt;
  const thrown = 'error' in outcome ? outcome.error : isOutcome(outcome.value) ? outcome.value : undefined;
  if (thrown === undefined) {
    const encoded = encodeResult((outcome as { value: unknown }).value);
    if (encoded.ok) return { transition: { to: 'succeeded', id, token, result: encoded.payload } };
    const error = Object.assign(new TypeError(`the handler's result cannot be stored as JSON (${encoded.problem})`), { code: INVALID_RESULT_CODE });
    return failFor(attempt, settings, error, now, true);
  }
  if (isOutcome(thrown)) return decideOutcome(attempt, settings, thrown, now);
  return failFor(attempt, settings, thrown, now, false);
}

function decideOutcome(attempt: AttemptInfo, settings: ResolvedTaskSettings, o: AnyOutcome, now: number): Decision {
  const { id, token } = attempt;
  switch (o.kind) {
    case 'retry-later':
      return { transition: { to: 'queued', id, token, runAt: now + o.delayMs, error: null, countAttempt: false } };
    case 'suspend-task': {
      const until = now + o.delayMs;
      return { transition: { to: 'queued', id, token, runAt: now, error: null, countAttempt: false }, suspendUntil: until };
    }
    case 'permanent':
      return failFor(attempt, settings, o.error, now, true);
  }
}

/** A failed attempt: retried after the task's backoff while attempts remain, else failed. */
export function failFor(attempt: AttemptInfo, settings: ResolvedTaskSettings, err: unknown, now: number, permanent: boolean): Decision {
  const { id, token } = attempt;
  const error = JSON.stringify(jobErrorOf(err, attempt.attempt, now, HANDLER_ERROR_CODE));
  if (permanent || attempt.attempt >= attempt.maxAttempts) return { transition: { to: 'failed', id, token, error } };
  const runAt = now + backoffDelay(settings.backoff, attempt.attempt);
  return { transition: { to: 'queued', id, token, runAt, error, countAttempt: true } };
}

type Encoded = { ok: true; payload: Payload | null } | { ok: false; problem: string };

export function encodeResult(value: unknown): Encoded {
  if (value === undefined || value === null) return { ok: true, payload: null };
  if (Buffer.isBuffer(value)) return { ok: true, payload: value };
  try {
    const text = JSON.stringify(value);
    return text === undefined ? { ok: false, problem: `a ${typeof value} is not a JSON value` } : { ok: true, payload: text };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

/** What `alreadyRecorded` reads of a job. */
export type RecordedJob = Pick<JobRow, 'state' | 'leaseToken' | 'result'>;

/**
 * Whether a transition the lease fence refused had in fact been recorded: its job ended as the
 * transition asks, under the same lease token (and, for a result, with the same result). That is
 * a repeated delivery whose first answer was lost (a timeout, a server killed after its commit),
 * and it is answered as a success. A retry or release cannot be recognised this way: the job may
 * already be running again under another token.
 */
export function alreadyRecorded(t: Transition, job: RecordedJob | null): boolean {
  if (job === null || job.leaseToken !== t.token) return false;
  if (t.to === 'succeeded') return job.state === 'succeeded' && samePayload(job.result, t.result);
  if (t.to === 'failed') return job.state === 'failed';
  return false;
}

function samePayload(a: Payload | null, b: Payload | null): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return typeof a === typeof b && a === b;
  return a.equals(b);
}
