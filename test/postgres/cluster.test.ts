/**
 * What only a shared PostgreSQL store does: migrations raced by several processes, cluster duties
 * held by one process at a time, the LISTEN/NOTIFY change feed (and its recovery), results and
 * concurrency limits across processes. "Processes" here are separate stores, each with its own
 * connections, in one test process; test/e2e has the same with real processes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { resolveTaskSettings } from '../../src/core/task.js';
import { defineTask, StoreVersionError } from '../../src/index.js';
import { openStore } from '../../src/store/open.js';
import { SCHEMA_VERSION } from '../../src/store/postgres/connection.js';
import { loadMigrations } from '../../src/store/sql-files.js';
import type { Store, StoreChange } from '../../src/store/store.js';
import { newJob } from '../conformance/store-suite.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';
import { dropSchema, postgresFactory, postgresReady, uniqueSchema, urlForSchema, withAdmin } from '../helpers/postgres.js';

const T0 = Date.UTC(2026, 0, 1);

/** The first change a store reports that matches. */
function nextChange(store: Store, match: (c: StoreChange) => boolean = () => true): Promise<StoreChange> {
  return new Promise((resolve) => {
    const off = store.watch((c) => {
      if (!match(c)) return;
      off();
      resolve(c);
    });
  });
}

/**
 * Terminates the backends of one application_name (a store's connections, when the URL names
 * them), and waits until they are gone (their locks released with them), up to 5 s each.
 */
function terminate(applicationName: string): Promise<number> {
  return withAdmin(
    async (c) =>
      (
        await c.query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1) t', [
          applicationName,
        ])
      ).rows[0].n as number,
  );
}

if (await postgresReady('PostgreSQL across processes')) {
  describe('PostgreSQL across processes', { timeout: 60_000 }, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function schemaWithStores(n: number, names: string[] = []): Promise<{ schema: string; stores: Store[] }> {
      const schema = uniqueSchema('cluster');
      cleanups.push(() => dropSchema(schema));
      const stores = await Promise.all(Array.from({ length: n }, (_, i) => openStore(urlForSchema(schema, names[i] ? { application_name: names[i] } : {}))));
      cleanups.push(() => Promise.all(stores.map((s) => s.close())));
      return { schema, stores };
    }

    it('migrates a fresh schema once when several processes open it at the same moment', async () => {
      const { schema } = await schemaWithStores(5);
      const versions = await withAdmin(async (c) =>
        (await c.query(`SELECT version FROM ${schema}.migrations ORDER BY version`)).rows.map((r) => r.version as number),
      );
      // Every migration file once (numbers may skip one that another branch holds).
      const files = loadMigrations(new URL('../../src/store/postgres/migrations/', import.meta.url)).map(([version]) => version);
      assert.deepEqual(versions, files);
      assert.equal(files.at(-1), SCHEMA_VERSION);
      await withAdmin((c) => c.query(`INSERT INTO ${schema}.migrations (version) VALUES (999)`));
      await assert.rejects(openStore(urlForSchema(schema)), StoreVersionError);
    });

    it('holds each cluster duty in one process at a time, and hands it over when that process is gone', async () => {
      const names = [uniqueSchema('a'), uniqueSchema('b')];
      const {
        stores: [a, b],
      } = await schemaWithStores(2, names);
      assert.equal(a.capabilities.clusterDuties, 'lock');
      assert.equal(await a.holdDuty({ duty: 'rescuer' }), true);
      assert.equal(await b.holdDuty({ duty: 'rescuer' }), false);
      assert.equal(await a.holdDuty({ duty: 'rescuer' }), true, 'kept while held');
      assert.equal(await b.holdDuty({ duty: 'pruner' }), true, 'duties are independent');
      assert.equal(await a.holdDuty({ duty: 'pruner' }), false);
      // A's connections die (a crashed or cut-off node): PostgreSQL drops its locks with them.
      assert.ok((await terminate(names[0])) >= 1);
      assert.equal(await b.holdDuty({ duty: 'rescuer' }), true, 'another process takes the duty over');
      assert.equal(await a.holdDuty({ duty: 'rescuer' }), false, 'the old holder knows it lost it');
    });

    it('tells other processes about new jobs by task and finished jobs and batches by id, not about their own', async () => {
      const {
        stores: [a, b],
      } = await schemaWithStores(2);
      await a.registerTasks({ tasks: ['email', 'report'].map((name) => ({ name, settings: resolveTaskSettings(name, {}) })), now: T0 });
      // Watching starts with a LISTEN, then a "look again" ({ tasks: null }) for anything missed before it.
      await Promise.all([a, b].map((s) => nextChange(s, (c) => c.tasks === null)));
      const aSees = nextChange(a);
      const bSeesInsert = nextChange(b, (c) => c.tasks?.includes('email') === true);
      const inserted = await a.insertJobs({ jobs: [newJob()], batch: { title: null, onFinish: null }, now: T0 });
      await bSeesInsert;
      const bSeesFinish = nextChange(b, (c) => (c.finished ?? []).length > 0);
      const [job] = await a.claimJobs({ workerId: 'w', tasks: ['email'], max: 1, leaseMs: 30_000, now: T0 });
      await a.finishJobs({ transitions: [{ to: 'succeeded', id: job.id, token: job.leaseToken, result: null }], now: T0 });
      const finish = await bSeesFinish;
      assert.deepEqual(finish.finished, [inserted.jobs[0].id]);
      assert.deepEqual(finish.finishedBatches, [inserted.batchId]);
      // A hears B's change, and never heard its own two before it.
      await b.insertJobs({ jobs: [newJob({ task: 'report' })], now: T0 });
      const first = await aSees;
      assert.deepEqual(first.tasks, ['report'], "A's first change came from B");
    });

    it('listens again by itself after its connection is killed, and says "look again" for what it missed', async () => {
      const names = [uniqueSchema('a'), uniqueSchema('b')];
      const {
        stores: [a, b],
      } = await schemaWithStores(2, names);
      const listening = nextChange(b, (c) => c.tasks === null);
      await listening; // the first LISTEN is followed by a "look again"
      const relistened = nextChange(b, (c) => c.tasks === null);
      assert.ok((await terminate(names[1])) >= 1);
      await relistened;
      const heard = nextChange(b, (c) => c.tasks?.includes('email') === true);
      await a.insertJobs({ jobs: [newJob()], now: T0 });
      await heard;
    });

    describe('with Offload', () => {
      let t: TestOffload;
      afterEach(() => t.dispose());

      it('run() and batch.wait() resolve when a worker in another process finishes the jobs', async () => {
        const double = defineTask('double', async (n: number) => n * 2);
        t = await openTestOffload({ factory: postgresFactory, tasks: [double] });
        const worker = await t.another({ tasks: [double] });
        await worker.work({ concurrency: 4, maintenance: false });
        assert.equal(await t.offload.run(double, 21), 42);
        const batch = await t.offload.batch(Array.from({ length: 20 }, (_, i) => ({ task: double, input: i })));
        assert.deepEqual(await batch.wait(), { id: batch.id, title: null, ok: true, total: 20, succeeded: 20, failed: 0, cancelled: 0 });
      });

      it('holds task and per-key concurrency limits across processes claiming at once', async () => {
        let running = 0;
        let peak = 0;
        const perKey = new Map<string, number>();
        let keyPeak = 0;
        const hold = async (key: string | null) => {
          running++;
          peak = Math.max(peak, running);
          if (key) {
            perKey.set(key, (perKey.get(key) ?? 0) + 1);
            keyPeak = Math.max(keyPeak, perKey.get(key)!);
          }
          await new Promise((resolve) => setTimeout(resolve, 2)); // the job's work: the slot stays taken meanwhile
          if (key) perKey.set(key, perKey.get(key)! - 1);
          running--;
        };
        const limited = defineTask('limited', () => hold(null), { concurrency: 2 });
        const keyed = defineTask('keyed', (input: { key: string }) => hold(input.key), { concurrencyPerKey: 1 });
        t = await openTestOffload({ factory: postgresFactory, tasks: [limited, keyed] });
        const others = await Promise.all([0, 1, 2].map(() => t.another({ tasks: [limited, keyed] })));
        const handles = await t.offload.enqueueMany(Array.from({ length: 30 }, () => ({ task: limited, input: null })));
        for (const o of others) await o.work({ concurrency: 5, maintenance: false, tasks: [limited] });
        await Promise.all(handles.map((h) => h.result()));
        assert.equal(peak, 2, 'never more than 2 running across the 3 workers');

        running = peak = 0;
        const keyedHandles = await t.offload.enqueueMany(
          Array.from({ length: 30 }, (_, i) => ({ task: keyed, input: { key: `k${i % 3}` }, options: { concurrencyKey: `k${i % 3}` } })),
        );
        for (const o of others) await o.work({ concurrency: 5, maintenance: false, tasks: [keyed] });
        await Promise.all(keyedHandles.map((h) => h.result()));
        assert.equal(keyPeak, 1, 'never two jobs of one key at once');
        assert.ok(peak <= 3);
      });
    });
  });
}
