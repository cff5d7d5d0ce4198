/**
 * What may be done to a job in each state, and what is recorded when its worker vanishes: the
 * rules every store applies, written once. The stores hold the SQL; the decisions are here.
 */
import { InvalidOptionError, InvalidStateError, LEASE_EXPIRED_CODE } from './errors.js';
import type { JobError, JobState } from './job.js';

/** Why a job in `state` cannot be cancelled, or null when it can (queued, running; cancelled again is a no-op). */
export function cancelRefusal(id: string, state: JobState): InvalidStateError | null {
  if (state === 'succeeded' || state === 'failed') return new InvalidStateError(id, state, 'cancel', 'Only queued or running jobs can be cancelled.');
  return null;
}

/** Why a job in `state` cannot be retried, or null when it can (failed, cancelled). */
export function retryRefusal(id: string, state: JobState): InvalidStateError | null {
  if (state === 'failed' || state === 'cancelled') return null;
  return new InvalidStateError(
    id,
    state,
    'retry',
    state === 'succeeded' ? 'It succeeded; submit a new job to run it again.' : 'It will run (again) by itself.',
  );
}

/** A retry refused because another live job took the unique key meanwhile. */
export function retryKeyTaken(id: string, state: JobState, uniqueKey: string | null): InvalidStateError {
  return new InvalidStateError(id, state, 'retry', `Another queued or running job holds its unique key "${String(uniqueKey)}".`);
}

/** Purging running jobs would pull them from under their workers. */
export function checkPurgeStates(states: JobState[]): void {
  if (states.includes('running')) throw new InvalidOptionError('state', 'running jobs cannot be purged; cancel them instead');
}

/** The error recorded on an attempt whose worker stopped renewing its lease (crashed, hung, cut off). */
export function leaseExpiredError(attempt: number, now: number): JobError {
  return {
    message: `The worker running attempt ${attempt} stopped heartbeating (crashed, hung or cut off); its lease expired.`,
    code: LEASE_EXPIRED_CODE,
    attempt,
    at: new Date(now).toISOString(),
  };
}
