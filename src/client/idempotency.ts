/**
 * Idempotency keys: a submission sent with a key is stored once; sent again with the same key
 * within the window (its first answer lost to a timeout or a dropped connection), it returns the
 * jobs the first one stored instead of storing new ones. The same key with other content is
 * refused (IDEMPOTENCY_KEY_REUSED): it is a bug in the caller, not a retry.
 */
import { createHash } from 'node:crypto';
import { IdempotencyKeyReusedError, InvalidOptionError } from '../core/errors.js';
import type { ReplayedSubmission, SubmitKey } from '../store/store.js';

export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;

export interface SubmitOptions {
  /**
   * Store this submission once: the same key within the idempotency window (default 24 h)
   * returns its jobs again. Keys belong to the submission's origin (over HTTP, the token).
   */
  idempotencyKey?: string;
}

/**
 * The store's form of a key: who submitted (`scope`) and their key, hashed, with a fingerprint of
 * the submission. Undefined when no key was given.
 */
export function submitKeyOf(key: string | undefined, scope: string | null, submission: unknown, now: number, windowMs: number): SubmitKey | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidOptionError('idempotencyKey', `must be a string of 1–${MAX_KEY_LENGTH} characters`);
  }
  return { key: sha256(JSON.stringify([scope ?? '', key])), fingerprint: sha256(canonicalJson(submission)), expiresAt: now + windowMs };
}

/** The jobs of the submission that held the key; refuses a key reused for other content. */
export function replayedIds(key: string, given: SubmitKey, replayed: ReplayedSubmission): string[] {
  if (replayed.fingerprint !== given.fingerprint) throw new IdempotencyKeyReusedError(key, replayed.jobIds);
  return replayed.jobIds;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted and bytes as base64, so equal submissions hash equally. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return { $base64: Buffer.from((v as { data: number[] }).data).toString('base64') };
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
