import { InvalidCursorError, InvalidIdError } from '../core/errors.js';

const ID = /^[1-9][0-9]{0,18}$/;

/** Accepts "42" or 42; anything else is an InvalidIdError. */
export function checkId(kind: 'job' | 'batch', id: unknown): string {
  const text = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
  if (typeof text !== 'string' || !ID.test(text) || BigInt(text) > 9223372036854775807n) throw new InvalidIdError(kind, id);
  return text;
}

/** Listing cursors are opaque to callers: today, the last id of the previous page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`j:${lastId}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  const m = /^j:([1-9][0-9]{0,18})$/.exec(text);
  if (!m) throw new InvalidCursorError(cursor);
  return m[1];
}
