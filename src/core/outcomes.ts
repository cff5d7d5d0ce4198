/**
 * What a handler can say besides "here is the result" and "this attempt failed".
 * Throw (or return) one of these; each maps to exactly one state transition:
 *
 * - `retryLater(ms)`: back to queued, run again after `ms`; the attempt is not counted.
 * - `permanent(err)`: failed now, whatever attempts are left.
 * - `suspendTask(ms)`: back to queued and the whole task paused for `ms` (an upstream API said
 *   "slow down"); the attempt is not counted.
 */

export abstract class Outcome extends Error {
  abstract readonly kind: 'retry-later' | 'permanent' | 'suspend-task';
}

export class RetryLater extends Outcome {
  readonly kind = 'retry-later';
  constructor(
    readonly delayMs: number,
    reason?: string,
  ) {
    super(reason ?? `retry in ${delayMs} ms`);
    this.name = 'RetryLater';
  }
}

export class Permanent extends Outcome {
  readonly kind = 'permanent';
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'Permanent';
  }
}

export class SuspendTask extends Outcome {
  readonly kind = 'suspend-task';
  constructor(
    readonly delayMs: number,
    reason?: string,
  ) {
    super(reason ?? `task suspended for ${delayMs} ms`);
    this.name = 'SuspendTask';
  }
}

export function retryLater(delayMs: number, reason?: string): RetryLater {
  return new RetryLater(checkDelay(delayMs, 'retryLater'), reason);
}

export function permanent(error: unknown): Permanent {
  return new Permanent(error);
}

export function suspendTask(delayMs: number, reason?: string): SuspendTask {
  return new SuspendTask(checkDelay(delayMs, 'suspendTask'), reason);
}

function checkDelay(ms: number, fn: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${fn}(ms): ms must be a non-negative number, got ${ms}`);
  return Math.round(ms);
}

export type AnyOutcome = RetryLater | Permanent | SuspendTask;

export function isOutcome(value: unknown): value is AnyOutcome {
  return value instanceof Outcome;
}
