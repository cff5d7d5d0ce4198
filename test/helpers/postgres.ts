import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import type { StoreFactory } from './stores.js';

/** The server the PostgreSQL tests use; the machine's own by default. */
export const TEST_PG_URL = process.env.OFFLOAD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;

/** A schema name no other test (in this or another process) uses. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
}

export function urlForSchema(schema: string, options: Record<string, string> = {}): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('schema', schema);
  for (const [k, v] of Object.entries(options)) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * Runs `fn` with a plain connection to the test server (outside any Offload store). The server
 * may go away meanwhile (the chaos harness restarts it): that shows in `fn`'s own queries, never
 * as an unhandled error from the idle connection or its close.
 */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/** A fresh schema per test, dropped on dispose. */
export const postgresFactory: StoreFactory = async () => {
  const schema = uniqueSchema();
  const url = urlForSchema(schema);
  return { url, open: () => openStore(url), dispose: () => dropSchema(schema) };
};

let availability: Promise<string | null> | undefined;

/** Why the PostgreSQL tests cannot run here, or null when the server answers. */
export function postgresUnavailable(): Promise<string | null> {
  availability ??= withAdmin((c) => c.query('SELECT 1')).then(
    () => null,
    (err: Error) => `PostgreSQL at ${TEST_PG_URL} is unreachable (${err.message})`,
  );
  return availability;
}

/**
 * Whether a PostgreSQL suite can run. When it cannot, registers the suite as skipped (with the
 * reason) on a developer's machine, and as failed in CI (CI=true), where the server must be up.
 */
export async function postgresReady(suite: string): Promise<boolean> {
  const reason = await postgresUnavailable();
  if (reason === null) return true;
  if (process.env.CI === 'true') {
    describe(suite, () => it('needs PostgreSQL', () => assert.fail(`${reason}; .ci/run must start the server`)));
  } else {
    describe(suite, { skip: reason }, () => undefined);
  }
  return false;
}
