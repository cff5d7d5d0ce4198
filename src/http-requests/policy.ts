/**
 * How the requests of one `offload.http.batch()` call are sent: the outbound guard's policy
 * (timeout, response size limit, addresses allowed, redirects), stored with each request's job
 * so that whichever worker sends it, after whatever restart, sends it the same way.
 */
import { InvalidOptionError } from '../core/errors.js';
import { addressPolicy } from '../outbound/address-policy.js';

export interface RequestPolicy {
  /** The whole exchange of one attempt, redirects included (default 30 s, at most 10 minutes). */
  timeoutMs: number;
  /** The largest response body taken, in bytes (default 1 MiB, at most 8 MiB); a larger one fails the request. */
  maxResponseBytes: number;
  /** Addresses or networks allowed although private or loopback ("127.0.0.1", "10.0.0.0/8"); default none. */
  allowAddresses: string[];
  /** Follow redirects within the same scheme, host and port (default false: a 3xx is the response). */
  followRedirects: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** A body is stored in the request job's result (base64 makes it a third larger): bounded so a batch cannot fill the store by accident. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The policy with defaults, or INVALID_OPTION naming the option out of bounds. */
export function resolvePolicy(given: Partial<RequestPolicy>): RequestPolicy {
  const timeoutMs = given.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
    throw new InvalidOptionError('timeoutMs', `must be an integer from 1 to ${MAX_TIMEOUT_MS} (milliseconds), got ${String(timeoutMs)}`);
  const maxResponseBytes = given.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 0 || maxResponseBytes > MAX_RESPONSE_BYTES)
    throw new InvalidOptionError('maxResponseBytes', `must be an integer from 0 to ${MAX_RESPONSE_BYTES} (8 MiB), got ${String(maxResponseBytes)}`);
  const allowAddresses = given.allowAddresses ?? [];
  if (!Array.isArray(allowAddresses) || allowAddresses.some((a) => typeof a !== 'string'))
    throw new InvalidOptionError('allowAddresses', 'must be an array of addresses or CIDR blocks ("127.0.0.1", "10.0.0.0/8")');
  // Built once here so that a bad entry is refused at submission, not at each request.
  addressPolicy({ allowAddresses });
  const followRedirects = given.followRedirects ?? false;
  if (typeof followRedirects !== 'boolean') throw new InvalidOptionError('followRedirects', 'must be true or false');
  return { timeoutMs, maxResponseBytes, allowAddresses: [...allowAddresses], followRedirects };
}
