/**
 * The counters' migrations (SQLite 012, PostgreSQL 014) start from the jobs already stored: a
 * store at the version before them, with jobs in every state, counts them once migrated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import { loadMigrations } from '../../src/store/sql-files.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, postgresReady, TEST_PG_URL, uniqueSchema, urlForSchema } from '../helpers/postgres.js';
import { tempDir } from '../helpers/stores.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12);
/** task, state, finished_at: what the store held before the counters. */
const JOBS: [string, string, number | null][] = [
  ['email', 'queued', null],
  ['email', 'queued', null],
  ['email', 'running', null],
  ['email', 'succeeded', T0 + 5],
  ['email', 'succeeded', T0 + MINUTE + 5],
  ['email', 'failed', T0 + 10],
  ['report', 'waiting', null],
  ['report', 'cancelled', T0 + 20],
];

async function assertCounted(store: Store): Promise<void> {
  assert.deepEqual((await store.countJobs({})).map((c) => `${c.task}:${c.state}:${c.count}`).sort(), [
    'email:failed:1',
    'email:queued:2',
    'email:running:1',
    'email:succeeded:2',
    'report:cancelled:1',
    'report:waiting:1',
  ]);
  assert.deepEqual(await store.throughput({ since: T0 - MINUTE }), [
    { task: 'email', minute: T0, succeeded: 1, failed: 1, retried: 0 },
    { task: 'email', minute: T0 + MINUTE, succeeded: 1, failed: 0, retried: 0 },
  ]);
}

describe('the counters’ migrations count the jobs already stored', () => {
  it('on SQLite (012)', async () => {
    const dir = tempDir();
    try {
      const path = `${dir.path}/offload.db`;
      const db = new Database(path);
      for (const [version, sql] of loadMigrations(new URL('../../src/store/sqlite/migrations/', import.meta.url))) if (version < 12) db.exec(sql);
      db.pragma('user_version = 11');
      const insert = db.prepare('INSERT INTO jobs (task, state, input, run_at, max_attempts, created_at, finished_at) VALUES (?, ?, ?, ?, 3, ?, ?)');
      for (const [task, state, finishedAt] of JOBS) insert.run(task, state, '{}', T0, T0, finishedAt);
      db.close();
      const store = await openStore(`sqlite:${path}`);
      try {
        await assertCounted(store);
      } finally {
        await store.close();
      }
    } finally {
      dir.dispose();
    }
  });
});

if (await postgresReady('the counters’ migration on PostgreSQL')) {
  describe('the counters’ migration counts the jobs already stored', () => {
    it('on PostgreSQL (014)', async () => {
      const schema = uniqueSchema('counters');
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(`SET search_path TO ${schema}`);
        await client.query('CREATE TABLE migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        for (const [version, sql] of loadMigrations(new URL('../../src/store/postgres/migrations/', import.meta.url))) {
          if (version >= 14) continue;
          await client.query(sql);
          await client.query('INSERT INTO migrations (version) VALUES ($1)', [version]);
        }
        for (const [task, state, finishedAt] of JOBS) {
          await client.query('INSERT INTO jobs (task, state, input, run_at, max_attempts, created_at, finished_at) VALUES ($1, $2, $3, $4, 3, $4, $5)', [
            task,
            state,
            '{}',
            T0,
            finishedAt,
          ]);
        }
        const store = await openStore(urlForSchema(schema));
        try {
          await assertCounted(store);
        } finally {
          await store.close();
        }
      } finally {
        await client.end();
        await dropSchema(schema);
      }
    });
  });
}
