import { InvalidStoreUrlError } from '../../core/errors.js';
import type { Store } from '../store.js';
import { type ParsedStoreUrl, redact } from '../url.js';
import { PostgresStore } from './postgres-store.js';

/** Offload's own options in a postgres:// URL; every other query parameter goes to the driver. */
const OWN_OPTIONS = ['schema', 'poolSize', 'pollIntervalMs', 'synchronousCommit', 'statementTimeoutMs'];
const SYNCHRONOUS_COMMIT = ['on', 'off', 'local', 'remote_write', 'remote_apply'];
const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;

export interface PostgresUrlOptions {
  schema: string;
  poolSize: number | undefined;
  pollIntervalMs: number | undefined;
  /** PostgreSQL's synchronous_commit for Offload's connections; unset keeps the server's (durable) default. */
  synchronousCommit: string | undefined;
  /** PostgreSQL's statement_timeout for Offload's connections (unset: 30 000 ms; 0: none). */
  statementTimeoutMs: number | undefined;
  /** The URL without Offload's options, for the driver. */
  connectionString: string;
}

/** `postgres://user:pass@host:5432/db?schema=offload&poolSize=10&pollIntervalMs=10000&statementTimeoutMs=30000` */
export function postgresUrlOptions(parsed: ParsedStoreUrl): PostgresUrlOptions {
  const url = new URL(parsed.location);
  const shown = redact(parsed.location);
  const o = parsed.options;
  const schema = o.schema ?? 'offload';
  if (!SCHEMA.test(schema))
    throw new InvalidStoreUrlError(shown, 'schema must be 1–48 lowercase letters, digits or underscores, starting with a letter or underscore');
  const int = (name: string, min: number): number | undefined => {
    if (o[name] === undefined) return undefined;
    const n = Number(o[name]);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidStoreUrlError(shown, `${name} must be an integer ≥ ${min}`);
    return n;
  };
  const synchronousCommit = o.synchronousCommit;
  if (synchronousCommit !== undefined && !SYNCHRONOUS_COMMIT.includes(synchronousCommit)) {
    throw new InvalidStoreUrlError(shown, `synchronousCommit must be one of ${SYNCHRONOUS_COMMIT.join(', ')}`);
  }
  const options = {
    schema,
    poolSize: int('poolSize', 1),
    pollIntervalMs: int('pollIntervalMs', 10),
    synchronousCommit,
    statementTimeoutMs: int('statementTimeoutMs', 0),
  };
  for (const name of OWN_OPTIONS) url.searchParams.delete(name);
  return { ...options, connectionString: url.toString() };
}

export async function openPostgresStore(parsed: ParsedStoreUrl): Promise<Store> {
  const o = postgresUrlOptions(parsed);
  const url = new URL(o.connectionString);
  const description = `postgres://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}?schema=${o.schema}`;
  const target = { connectionString: o.connectionString, schema: o.schema, synchronousCommit: o.synchronousCommit, statementTimeoutMs: o.statementTimeoutMs };
  return PostgresStore.open(target, description, { poolSize: o.poolSize, pollIntervalMs: o.pollIntervalMs });
}
