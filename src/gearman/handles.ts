/**
 * Job handles are derived from job ids, `H:<prefix>:<id>` like gearmand's `H:<host>:<n>`, so a
 * handle stays the same across retries and restarts, and any server on the same store can
 * answer for it.
 */
import { MAX_HANDLE_BYTES } from './protocol.js';

const ID_DIGITS = 19;

/** A prefix that keeps every handle under Gearman's 64-byte limit and free of separators. */
export function handlePrefix(host: string): string {
  const clean = host.replace(/[^A-Za-z0-9._-]/g, '-') || 'offload';
  return `H:${clean.slice(0, MAX_HANDLE_BYTES - 2 - 1 - ID_DIGITS)}`;
}

export function handleOf(prefix: string, jobId: string): string {
  return `${prefix}:${jobId}`;
}

/**
 * The job id inside a handle, or null when it is not one of ours. Any `H:…:<id>` is accepted, so
 * a handle given out by another server on the same store is understood here too.
 */
export function jobIdOfHandle(handle: string): string | null {
  const m = /^H:.*:([1-9][0-9]{0,18})$/s.exec(handle);
  if (!m || BigInt(m[1]) > 9223372036854775807n) return null;
  return m[1];
}
