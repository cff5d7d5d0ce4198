import { StoreFullError, StoreUnavailableError } from '../../core/errors.js';

/**
 * SQLite's failures that are about the machine, not the statement, as named errors: a full disk
 * (STORE_FULL), a write lock held by another process past the busy timeout, or an I/O error
 * (STORE_UNAVAILABLE, which callers retry). Anything else passes through.
 */
export function toStoreError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  if (code === 'SQLITE_FULL') return new StoreFullError(path, err);
  if (code.startsWith('SQLITE_BUSY')) {
    return new StoreUnavailableError(`another process has held the SQLite file ${path} locked for longer than busyTimeoutMs; Offload retries by itself`, err);
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') {
    return new StoreUnavailableError(`the SQLite file ${path} cannot be read or written (${code}: ${(err as Error).message})`, err);
  }
  return err;
}
