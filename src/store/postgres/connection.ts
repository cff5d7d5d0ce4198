import pg from 'pg';
import { StoreVersionError } from '../../core/errors.js';
import { loadMigrations } from '../sql-files.js';
import { isConnectionError, toStoreError } from './errors.js';

export interface PgTarget {
  /** libpq-style connection string without Offload's own options. */
  connectionString: string;
  /** The schema that holds Offload's tables; every connection's search_path. */
  schema: string;
  /** synchronous_commit for Offload's sessions, when the user asks for something else than the server's setting. */
  synchronousCommit?: string;
  /** statement_timeout for Offload's sessions (default 30 000 ms; 0: none). Migrations run without one. */
  statementTimeoutMs?: number;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * bigint (int8) columns are times in ms and counts: safe integers, read as numbers. Ids and lease
 * tokens are cast to text in the SQL, so they never pass through a float.
 */
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return (pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

/**
 * Settings for every Offload session, sent at connection start. search_path: every statement (and
 * every function) names tables without the schema.
 */
function sessionOptions(target: PgTarget): string {
  const options = [`search_path=${target.schema}`];
  if (target.synchronousCommit) options.push(`synchronous_commit=${target.synchronousCommit}`);
  // A statement stuck behind a lock someone forgot (an open psql transaction) fails and is retried,
  // and says why, instead of hanging every worker and request of this process.
  options.push(`statement_timeout=${target.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS}`);
  return options.map((o) => `-c ${o}`).join(' ');
}

/** Settings shared by pooled connections and the dedicated session connection. */
export function clientConfig(target: PgTarget): pg.ClientConfig {
  return {
    connectionString: target.connectionString,
    options: sessionOptions(target),
    types,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    application_name: 'offload',
  };
}

export function createPool(target: PgTarget, size: number): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(target), max: size, idleTimeoutMillis: 30_000 });
  // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool;
  // without a listener the 'error' event would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs statements: one at a time on any pooled connection, or several in one transaction. */
export interface Queryable {
  /** `name` makes it a prepared statement on each connection (hot paths: parsed and planned once). */
  query<R>(sql: string, values?: unknown[], name?: string): Promise<R[]>;
}

/** The pool, with connection trouble reported as StoreUnavailableError. */
export class Db implements Queryable {
  constructor(readonly pool: pg.Pool) {}

  async query<R>(sql: string, values: unknown[] = [], name?: string): Promise<R[]> {
    try {
      const r = await this.pool.query({ text: sql, values, name });
      return r.rows as R[];
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** Runs `fn` in a transaction on one connection; rolls back if it throws. */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toStoreError(err);
    }
    let broken: Error | undefined;
    // A checked-out connection that dies between two statements (pg_terminate_backend, a server
    // restart) reports it as an 'error' event; unheard, that event would crash the process.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const tx: Queryable = {
      async query<R>(sql: string, values: unknown[] = [], name?: string): Promise<R[]> {
        if (broken) throw toStoreError(broken);
        return (await client.query({ text: sql, values, name })).rows as R[];
      },
    };
    try {
      await client.query('BEGIN');
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      if (isConnectionError(err)) broken ??= err as Error;
      else if (!broken)
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
      throw toStoreError(err);
    } finally {
      client.removeListener('error', onError);
      // A connection that failed is destroyed rather than handed to the next caller.
      client.release(broken);
    }
  }
}

const MIGRATIONS = loadMigrations(new URL('./migrations/', import.meta.url));
export const SCHEMA_VERSION = MIGRATIONS.at(-1)![0];

/**
 * Brings the schema up to date in one transaction under an advisory lock: processes starting at
 * once take turns, and each migration is applied exactly once (the later ones see it recorded).
 */
export async function migrate(db: Db, schema: string): Promise<void> {
  await db.transaction(async (tx) => {
    // Waiting for another process's migration, or building an index on a large table, may take long.
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('offload-migrate'), hashtext($1))", [schema]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.query(`SET LOCAL search_path TO ${schema}`);
    await tx.query('CREATE TABLE IF NOT EXISTS migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const [{ v }] = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM migrations');
    const current = v ?? 0;
    if (current > SCHEMA_VERSION) throw new StoreVersionError(current, SCHEMA_VERSION);
    for (const [version, sql] of MIGRATIONS) {
      if (version <= current) continue;
      await tx.query(sql);
      await tx.query('INSERT INTO migrations (version) VALUES ($1)', [version]);
    }
  });
}
