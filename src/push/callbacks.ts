/**
 * Callbacks of accepted pushes (202): the endpoint POSTs progress, then the result or a failure,
 * to the job's callback URL with a token bound to the attempt's lease. The token is an HMAC of the
 * job id and the lease token under the group's secret, so any server of the store can check it,
 * and it dies with the lease: once the attempt timed out, was cancelled or went to another
 * endpoint, the job's lease token changed and the callback is refused (LEASE_LOST).
 *
 * A callback for an attempt this process is waiting for goes to that wait; any other (the attempt
 * belongs to another server) is written through the store under the lease token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function callbackToken(secret: string, jobId: string, leaseToken: string): string {
  return createHmac('sha256', secret).update(`offload-push-callback:${jobId}:${leaseToken}`).digest('base64url');
}

export function callbackTokenMatches(secret: string, jobId: string, leaseToken: string, given: string): boolean {
  const expected = Buffer.from(callbackToken(secret, jobId, leaseToken));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export type CallbackMessage =
  | { type: 'progress'; done: number; total: number; message?: string }
  | { type: 'complete'; result: unknown }
  | { type: 'fail'; error: { message: string; code?: string }; retryable: boolean };

/** An accepted attempt this process waits for. */
export interface AwaitedCallback {
  leaseToken: string;
  deliver(message: CallbackMessage): void;
}

/** The accepted attempts this process waits for, by job id. */
export class AwaitedCallbacks {
  private readonly waiting = new Map<string, AwaitedCallback>();

  add(jobId: string, awaited: AwaitedCallback): () => void {
    this.waiting.set(jobId, awaited);
    return () => {
      if (this.waiting.get(jobId) === awaited) this.waiting.delete(jobId);
    };
  }

  /** Hands the message to the wait for this attempt; false when this process does not wait for it. */
  deliver(jobId: string, leaseToken: string, message: CallbackMessage): boolean {
    const awaited = this.waiting.get(jobId);
    if (!awaited || awaited.leaseToken !== leaseToken) return false;
    awaited.deliver(message);
    return true;
  }
}
