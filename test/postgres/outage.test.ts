/**
 * A database outage as a worker sees it: every connection dropped and new ones refused (a TCP
 * relay between the worker and the real server is cut), then the database comes back.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { Logger } from '../../src/core/logger.js';
import { defineTask, Offload, StoreUnavailableError } from '../../src/index.js';
import { createPool, Db } from '../../src/store/postgres/connection.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { deferred } from '../helpers/offload.js';
import { dropSchema, postgresReady, TEST_PG_URL, uniqueSchema, urlForSchema, withAdmin } from '../helpers/postgres.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** A logger that hands every error entry to the test. */
function recordingLogger(): Logger & { errors: Record<string, unknown>[]; nextError(): Promise<Record<string, unknown>> } {
  const errors: Record<string, unknown>[] = [];
  const waiting: ((e: Record<string, unknown>) => void)[] = [];
  return {
    errors,
    debug() {},
    info() {},
    warn() {},
    error(obj: object) {
      errors.push(obj as Record<string, unknown>);
      for (const w of waiting.splice(0)) w(obj as Record<string, unknown>);
    },
    nextError: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
      }),
  };
}

if (await postgresReady('PostgreSQL outage')) {
  describe('PostgreSQL outage', { timeout: 60_000 }, () => {
    const schema = uniqueSchema('outage');
    after(() => dropSchema(schema));

    it('opening a store that cannot be reached fails with STORE_UNAVAILABLE', async () => {
      const url = new URL(urlForSchema(schema));
      url.port = '1';
      await assert.rejects(
        Offload.open({ store: url.toString() }),
        (err: Error) => err instanceof StoreUnavailableError && /retries by itself/.test(err.message),
      );
    });

    it('a connection killed in the middle of a transaction fails that transaction with STORE_UNAVAILABLE, and nothing else', async () => {
      const db = new Db(createPool({ connectionString: TEST_PG_URL, schema }, 2));
      try {
        await assert.rejects(
          db.transaction(async (tx) => {
            const [{ pid }] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
            await withAdmin(async (c) => {
              await c.query('SELECT pg_terminate_backend($1)', [pid]);
              // Until the backend is gone: by then its goodbye reached this process, between two statements.
              while ((await c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount) {
                /* look again */
              }
            });
            await tx.query('SELECT 1');
          }),
          StoreUnavailableError,
        );
        assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }], 'the pool goes on with a new connection');
      } finally {
        await db.pool.end();
      }
    });

    it('a statement stuck behind a lock another session holds fails after statementTimeoutMs with STORE_UNAVAILABLE; migrations wait as long as it takes', async () => {
      const stuck = uniqueSchema('stuck');
      const url = urlForSchema(stuck, { statementTimeoutMs: '300' });
      const locker = new pg.Client({ connectionString: TEST_PG_URL });
      await locker.connect();
      try {
        // Another process's migration holds the migration lock for longer than the timeout: opening waits for it.
        await locker.query('BEGIN');
        await locker.query("SELECT pg_advisory_xact_lock(hashtext('offload-migrate'), hashtext($1))", [stuck]);
        let opened = false;
        const opening = Offload.open({ store: url, tasks: [defineTask('stuck.task', async () => null)] }).then((o) => {
          opened = true;
          return o;
        });
        await withAdmin(async (c) => {
          const waiting = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%offload-migrate%' AND pid <> $1";
          while (!(await c.query(waiting, [(locker as unknown as { processID: number }).processID])).rowCount) {
            /* look again */
          }
          await c.query('SELECT pg_sleep(0.6)'); // twice the timeout, which would have cancelled the wait
        });
        assert.equal(opened, false, 'still waiting for the other migration');
        await locker.query('COMMIT');
        const offload = await opening;
        try {
          const { id } = await offload.enqueue('stuck.task', { n: 1 });
          // Someone leaves a transaction open holding the jobs table: reads fail in bounded time and say why.
          await locker.query('BEGIN');
          await locker.query(`LOCK TABLE ${stuck}.jobs IN ACCESS EXCLUSIVE MODE`);
          await assert.rejects(offload.store.getJob({ id }), (err: Error) => err instanceof StoreUnavailableError && /statementTimeoutMs/.test(err.message));
          await locker.query('ROLLBACK');
          assert.equal((await offload.store.getJob({ id }))?.state, 'queued', 'fine again once the lock is gone');
        } finally {
          await offload.close();
        }
      } finally {
        await locker.end();
        await dropSchema(stuck);
      }
    });

    it('a worker keeps its results while the database is gone, writes them once it is back, and goes on claiming', async () => {
      const target = new URL(TEST_PG_URL);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const url = new URL(urlForSchema(schema));
      url.port = String(proxy.port);
      const clock = new ManualClock(Date.now());
      const logger = recordingLogger();
      const gate = deferred();
      let started = 0;
      const fourStarted = deferred();
      const task = defineTask('outage.work', async (input: { i: number }) => {
        if (++started === 4) fourStarted.resolve();
        await gate.promise;
        return { i: input.i };
      });
      const offload = await Offload.open({ store: url.toString(), tasks: [task], clock, logger });
      try {
        const handles = await offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task, input: { i } })));
        await offload.work({ concurrency: 4, maintenance: false });
        await fourStarted.promise;

        await proxy.cut();
        const failed = logger.nextError();
        gate.resolve();
        const entry = await failed;
        assert.ok(entry.err instanceof StoreUnavailableError, `the failed write is reported as STORE_UNAVAILABLE (got ${String(entry.err)})`);
        const running = await withAdmin(async (c) => (await c.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE state = 'running'`)).rows[0].n);
        assert.equal(running, 4, 'nothing was written while the database was gone');

        await proxy.restore();
        // The worker retries on its own clock (backoff from 100 ms); move it past the retries.
        await clock.advance(10_000);
        const results = await Promise.all(handles.map((h) => h.result()));
        assert.deepEqual(
          results,
          Array.from({ length: 10 }, (_, i) => ({ i })),
        );
        const attempts = await withAdmin(
          async (c) => (await c.query(`SELECT max(attempt)::int AS a, count(*)::int AS n FROM ${schema}.jobs WHERE state = 'succeeded'`)).rows[0],
        );
        assert.deepEqual(attempts, { a: 1, n: 10 }, 'each job ran once: the results were kept, not lost and rerun');
      } finally {
        await offload.close();
        await proxy.close();
      }
    });
  });
}
