import { StoreUnavailableError } from '../../core/errors.js';

/** Socket-level failures: the server is down, restarting, or the network is cut. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATEs that mean "this connection or server cannot serve us now", not "this statement is
 * wrong": class 08 (connection exception), 57P01–57P03 (terminated by an administrator, crash
 * shutdown, cannot connect now), 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** Messages node-postgres uses for a connection that died or could not be made. */
const CONNECTION_MESSAGES = /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|Connection ended|not queryable/i;

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof StoreUnavailableError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)))) return true;
  return CONNECTION_MESSAGES.test(err.message);
}

/** 57014 query_canceled, from statement_timeout (not from a cancel request, which says so). */
function isStatementTimeout(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === '57014' && /statement timeout/i.test(err.message);
}

/** Connection trouble or a statement timeout becomes a StoreUnavailableError (callers retry); anything else passes through. */
export function toStoreError(err: unknown): unknown {
  if (isStatementTimeout(err)) {
    return new StoreUnavailableError(
      'PostgreSQL did not finish a statement within statementTimeoutMs (a lock held by another session, or an overloaded server: see pg_stat_activity); Offload retries by itself',
      err,
    );
  }
  if (err instanceof StoreUnavailableError || !isConnectionError(err)) return err;
  return new StoreUnavailableError(`PostgreSQL cannot be reached (${(err as Error).message}); Offload retries by itself once it is back`, err);
}
