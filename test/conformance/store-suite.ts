/**
 * The Store conformance suite: every backend runs exactly these tests (see sqlite.test.ts and
 * postgres.test.ts). Time is passed explicitly, so nothing here waits for a clock.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InvalidOptionError, InvalidStateError, JobNotFoundError } from '../../src/core/errors.js';
import { resolveSchedule, type ScheduleDefinition } from '../../src/core/schedule.js';
import { resolveTaskSettings, type TaskSettings } from '../../src/core/task.js';
import type { NewJob, Store } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';

const T0 = Date.UTC(2026, 0, 1);
const LEASE = 30_000;

export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    task: 'email',
    input: '{"to":"a@example.com"}',
    priority: 0,
    runAt: T0,
    maxAttempts: 3,
    timeoutMs: null,
    uniqueKey: null,
    concurrencyKey: null,
    origin: null,
    ...overrides,
  };
}

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
      await register('email');
      await register('report');
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    async function register(task: string, settings: TaskSettings = {}): Promise<void> {
      await store.registerTasks({ tasks: [{ name: task, settings: resolveTaskSettings(task, settings) }], now: T0 });
    }

    async function insert(overrides: Partial<NewJob> = {}): Promise<string> {
      const r = await store.insertJobs({ jobs: [newJob(overrides)], now: T0 });
      return r.jobs[0].id;
    }

    async function claim(max = 10, tasks = ['email', 'report'], now = T0, workerId = 'w1') {
      return store.claimJobs({ workerId, tasks, max, leaseMs: LEASE, now });
    }

    // ---- inserting -----------------------------------------------------------------------------

    it('inserts a queued job and reads it back whole', async () => {
      const id = await insert({ priority: 5, origin: 'test', timeoutMs: 1000, concurrencyKey: 'k' });
      assert.match(id, /^[1-9][0-9]*$/);
      const row = await store.getJob({ id });
      assert.ok(row);
      assert.equal(row.id, id);
      assert.equal(row.task, 'email');
      assert.equal(row.state, 'queued');
      assert.equal(row.input, '{"to":"a@example.com"}');
      assert.equal(row.priority, 5);
      assert.equal(row.runAt, T0);
      assert.equal(row.attempt, 0);
      assert.equal(row.maxAttempts, 3);
      assert.equal(row.timeoutMs, 1000);
      assert.equal(row.origin, 'test');
      assert.equal(row.concurrencyKey, 'k');
      assert.equal(row.createdAt, T0);
      assert.equal(row.startedAt, null);
      assert.equal(row.finishedAt, null);
      assert.equal(row.result, null);
      assert.equal(await store.getJob({ id: '999999' }), null);
    });

    it('inserts many jobs in one call, in order, with increasing ids', async () => {
      const r = await store.insertJobs({ jobs: [newJob({ input: '1' }), newJob({ input: '2' }), newJob({ input: '3' })], now: T0 });
      assert.equal(r.jobs.length, 3);
      const ids = r.jobs.map((j) => BigInt(j.id));
      assert.ok(ids[0] < ids[1] && ids[1] < ids[2]);
      assert.deepEqual((await store.getJobs({ ids: r.jobs.map((j) => j.id) })).map((j) => j.input).sort(), ['1', '2', '3']);
    });

    it('keeps raw bytes as bytes', async () => {
      const bytes = Buffer.from([0, 255, 10, 13, 0x80]);
      const id = await insert({ input: bytes });
      const row = await store.getJob({ id });
      assert.ok(Buffer.isBuffer(row!.input));
      assert.deepEqual(row!.input, bytes);
      const [job] = await claim();
      assert.deepEqual(job.input, bytes);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id, token: job.leaseToken, result: Buffer.from([1, 2, 0]) }], now: T0 });
      assert.deepEqual((await store.getJob({ id }))!.result, Buffer.from([1, 2, 0]));
    });

    it('never reuses an id, even after the newest jobs are purged', async () => {
      const a = await insert();
      const b = await insert();
      await store.purgeJobs({ task: 'email', states: ['queued'], now: T0 });
      const c = await insert();
      assert.ok(BigInt(c) > BigInt(b) && BigInt(b) > BigInt(a));
    });

    it('returns the existing job when a queued or running job holds the unique key', async () => {
      const first = await store.insertJobs({ jobs: [newJob({ uniqueKey: 'u1' })], now: T0 });
      assert.equal(first.jobs[0].deduplicated, false);
      const second = await store.insertJobs({ jobs: [newJob({ uniqueKey: 'u1', input: '"other"' })], now: T0 });
      assert.equal(second.jobs[0].deduplicated, true);
      assert.equal(second.jobs[0].id, first.jobs[0].id);
      // Another task may use the same key.
      const other = await store.insertJobs({ jobs: [newJob({ task: 'report', uniqueKey: 'u1' })], now: T0 });
      assert.equal(other.jobs[0].deduplicated, false);
      // Still held while running.
      const [running] = await claim(1, ['email']);
      assert.equal((await store.insertJobs({ jobs: [newJob({ uniqueKey: 'u1' })], now: T0 })).jobs[0].state, 'running');
      // Released once the job has finished.
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: running.id, token: running.leaseToken, result: null }], now: T0 });
      const third = await store.insertJobs({ jobs: [newJob({ uniqueKey: 'u1' })], now: T0 });
      assert.equal(third.jobs[0].deduplicated, false);
      assert.notEqual(third.jobs[0].id, first.jobs[0].id);
    });

    it('deduplicates within one multi-job insert', async () => {
      const r = await store.insertJobs({ jobs: [newJob({ uniqueKey: 'k' }), newJob({ uniqueKey: 'k' })], now: T0 });
      assert.equal(r.jobs[1].deduplicated, true);
      assert.equal(r.jobs[1].id, r.jobs[0].id);
    });

    it("stores a keyed submission once: the same key within its window returns the first submission's jobs", async () => {
      const submitKey = { key: 'app:order-1', fingerprint: 'f1', expiresAt: T0 + 60_000 };
      const first = await store.insertJobs({ jobs: [newJob(), newJob({ task: 'report' })], now: T0, submitKey });
      assert.equal(first.replayed, undefined);
      const again = await store.insertJobs({ jobs: [newJob(), newJob({ task: 'report' })], now: T0 + 1000, submitKey: { ...submitKey, fingerprint: 'f2' } });
      assert.deepEqual(again.replayed, { fingerprint: 'f1', jobIds: first.jobs.map((j) => j.id), batchId: null });
      assert.deepEqual(again.jobs, []);
      assert.equal((await store.listJobs({ limit: 10 })).length, 2, 'nothing new was stored');
      const batch = await store.insertJobs({
        jobs: [newJob()],
        batch: { title: 'b', onFinish: null },
        now: T0,
        submitKey: { ...submitKey, key: 'app:batch-1' },
      });
      const batchAgain = await store.insertJobs({
        jobs: [newJob()],
        batch: { title: 'b', onFinish: null },
        now: T0,
        submitKey: { ...submitKey, key: 'app:batch-1' },
      });
      assert.deepEqual(batchAgain.replayed, { fingerprint: 'f1', jobIds: [batch.jobs[0].id], batchId: batch.batchId });
      // Once the window has ended the key is free again, and the pruner forgets it.
      const later = await store.insertJobs({ jobs: [newJob()], now: T0 + 60_000, submitKey: { ...submitKey, expiresAt: T0 + 120_000 } });
      assert.equal(later.replayed, undefined);
      assert.equal(later.jobs.length, 1);
      await store.pruneJobs({ now: T0 + 120_000, limit: 1000 });
      const afterPrune = await store.insertJobs({ jobs: [newJob()], now: T0 + 120_000, submitKey: { ...submitKey, expiresAt: T0 + 180_000 } });
      assert.equal(afterPrune.replayed, undefined);
    });

    it('stores one submission when two connections send the same key at once', async () => {
      const other = await fixture.open();
      try {
        const submitKey = { key: 'http:agent:race', fingerprint: 'f', expiresAt: T0 + 60_000 };
        const results = await Promise.all([store, other, store, other].map((s) => s.insertJobs({ jobs: [newJob(), newJob()], now: T0, submitKey })));
        const stored = results.filter((r) => r.replayed === undefined);
        assert.equal(stored.length, 1);
        for (const r of results.filter((x) => x.replayed))
          assert.deepEqual(
            r.replayed!.jobIds,
            stored[0].jobs.map((j) => j.id),
          );
        assert.equal((await store.listJobs({ limit: 10 })).length, 2);
      } finally {
        await other.close();
      }
    });

    it('inserts a job already claimed by a worker: running, attempt 1, fenced, not claimable, reaped when its lease expires', async () => {
      const lease = { workerId: 'gearman:w', leaseExpiresAt: T0 + LEASE };
      const r = await store.insertJobs({ jobs: [newJob({ lease, uniqueKey: 'held' }), newJob()], now: T0 });
      const [leased, queued] = r.jobs;
      assert.deepEqual([leased.state, leased.deduplicated, typeof leased.leaseToken], ['running', false, 'string']);
      assert.deepEqual([queued.state, queued.leaseToken], ['queued', undefined]);
      const row = await store.getJob({ id: leased.id });
      assert.deepEqual([row!.state, row!.attempt, row!.workerId, row!.startedAt, row!.leaseExpiresAt], ['running', 1, 'gearman:w', T0, T0 + LEASE]);
      assert.deepEqual(
        (await claim(10, ['email'])).map((j) => j.id),
        [queued.id],
      );
      // It holds its unique key; a second leased insert of that key is deduplicated and gets no lease.
      const again = await store.insertJobs({ jobs: [newJob({ lease, uniqueKey: 'held' })], now: T0 });
      assert.deepEqual([again.jobs[0].id, again.jobs[0].deduplicated, again.jobs[0].leaseToken], [leased.id, true, undefined]);
      // A single leased insert takes the same path as one among many.
      const single = (await store.insertJobs({ jobs: [newJob({ lease })], now: T0 })).jobs[0];
      assert.equal(single.state, 'running');
      // Fenced like a claimed job: a wrong token is refused, the right one finishes it.
      const wrong = await store.finishJobs({ transitions: [{ to: 'succeeded', id: leased.id, token: '1', result: null }], now: T0 });
      assert.equal(wrong.results[0].ok, false);
      const right = await store.finishJobs({ transitions: [{ to: 'succeeded', id: leased.id, token: leased.leaseToken!, result: 'done' }], now: T0 + 1 });
      assert.equal(right.results[0].ok, true);
      // Unfinished, it is rescued like any job whose worker vanished.
      const reaped = await store.reapExpiredLeases({ now: T0 + LEASE + 1, limit: 100 });
      assert.ok(reaped.requeued.some((j) => j.id === single.id));
    });

    it('records a turn of many outcomes at once, each judged on its own: a stale token, the same job twice, bytes among text', async () => {
      await store.insertJobs({ jobs: Array.from({ length: 8 }, (_, i) => newJob({ input: `{"i":${i}}` })), now: T0 });
      const jobs = await claim(8, ['email']);
      assert.equal(jobs.length, 8);
      const ok = (j: (typeof jobs)[number], result: string | Buffer | null) => ({ to: 'succeeded' as const, id: j.id, token: j.leaseToken, result });
      const transitions = [
        ok(jobs[0], '"a"'),
        ok(jobs[1], null),
        { ...ok(jobs[2], '"stale"'), token: '12345' },
        ok(jobs[3], Buffer.from([0, 1, 2])),
        ok(jobs[4], '"first"'),
        ok(jobs[4], '"second"'),
        { to: 'failed' as const, id: jobs[5].id, token: jobs[5].leaseToken, error: '{"message":"no"}' },
        ok(jobs[6], '"g"'),
        ok(jobs[7], '{"h":1}'),
      ];
      const r = await store.finishJobs({ transitions, now: T0 + 5 });
      assert.deepEqual(
        r.results.map((x) => x.ok),
        [true, true, false, true, true, false, true, true, true],
      );
      assert.ok(r.results.filter((x) => x.ok).every((x) => x.task === 'email'));
      const rows = new Map((await store.getJobs({ ids: jobs.map((j) => j.id) })).map((j) => [j.id, j]));
      const stateOf = (i: number) => [rows.get(jobs[i].id)!.state, rows.get(jobs[i].id)!.result];
      assert.deepEqual(stateOf(0), ['succeeded', '"a"']);
      assert.deepEqual(stateOf(1), ['succeeded', null]);
      assert.deepEqual(stateOf(2), ['running', null]);
      assert.deepEqual(stateOf(3), ['succeeded', Buffer.from([0, 1, 2])]);
      assert.deepEqual(stateOf(4), ['succeeded', '"first"']);
      assert.equal(rows.get(jobs[5].id)!.state, 'failed');
      assert.deepEqual(stateOf(7), ['succeeded', '{"h":1}']);
      assert.equal(rows.get(jobs[0].id)!.finishedAt, T0 + 5);
    });

    // ---- claiming ------------------------------------------------------------------------------

    it('claims higher priority first, then earlier run_at, then FIFO', async () => {
      const low = await insert({ priority: -1 });
      const a = await insert();
      const b = await insert();
      const high = await insert({ priority: 10 });
      const earlier = await insert({ runAt: T0 - 1000 });
      const jobs = await claim(10, ['email']);
      assert.deepEqual(
        jobs.map((j) => j.id),
        [high, earlier, a, b, low],
      );
      for (const j of jobs) {
        assert.equal(j.attempt, 1);
        assert.equal(j.leaseExpiresAt, T0 + LEASE);
        assert.ok(j.leaseToken.length > 0);
      }
      const row = await store.getJob({ id: a });
      assert.equal(row!.state, 'running');
      assert.equal(row!.workerId, 'w1');
      assert.equal(row!.startedAt, T0);
    });

    it('orders claims across several tasks by priority', async () => {
      const e = await insert({ task: 'email', priority: 1 });
      const r = await insert({ task: 'report', priority: 2 });
      const jobs = await claim(1);
      assert.deepEqual(
        jobs.map((j) => j.id),
        [r],
      );
      assert.deepEqual(
        (await claim(1)).map((j) => j.id),
        [e],
      );
    });

    it('does not claim a delayed job before its run_at', async () => {
      const id = await insert({ runAt: T0 + 60_000 });
      assert.equal((await claim(10, ['email'], T0)).length, 0);
      assert.equal(await store.nextRunAt({ tasks: ['email'] }), T0 + 60_000);
      assert.deepEqual(
        (await claim(10, ['email'], T0 + 60_000)).map((j) => j.id),
        [id],
      );
      assert.equal(await store.nextRunAt({ tasks: ['email'] }), null);
    });

    it("tells the claimer each job's unique key (Gearman hands it to workers)", async () => {
      const keyed = await insert({ uniqueKey: 'u-42' });
      const plain = await insert();
      const jobs = await claim(10, ['email']);
      assert.deepEqual(
        jobs.map((j) => [j.id, j.uniqueKey]),
        [
          [keyed, 'u-42'],
          [plain, null],
        ],
      );
    });

    it('claims only the tasks asked for, and no more than max', async () => {
      await insert({ task: 'report' });
      for (let i = 0; i < 5; i++) await insert();
      assert.equal((await claim(3, ['email'])).length, 3);
      assert.equal((await claim(10, ['email'])).length, 2);
      assert.equal((await claim(10, ['nothing'])).length, 0);
      assert.equal((await claim(0, ['report'])).length, 0);
    });

    it('never hands one job to two claims', async () => {
      for (let i = 0; i < 20; i++) await insert();
      const [a, b] = await Promise.all([claim(15, ['email'], T0, 'a'), claim(15, ['email'], T0, 'b')]);
      const ids = [...a, ...b].map((j) => j.id);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20);
    });

    it('holds a task concurrency limit across claims', async () => {
      await register('email', { concurrency: 2 });
      for (let i = 0; i < 5; i++) await insert();
      const first = await claim(10, ['email'], T0, 'a');
      assert.equal(first.length, 2);
      assert.equal((await claim(10, ['email'], T0, 'b')).length, 0);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: first[0].id, token: first[0].leaseToken, result: null }], now: T0 });
      assert.equal((await claim(10, ['email'], T0, 'b')).length, 1);
    });

    it('holds a per-key concurrency limit without starving other keys', async () => {
      await register('email', { concurrencyPerKey: 1 });
      const a1 = await insert({ concurrencyKey: 'A' });
      await insert({ concurrencyKey: 'A' });
      await insert({ concurrencyKey: 'A' });
      const b1 = await insert({ concurrencyKey: 'B' });
      const free = await insert();
      const jobs = await claim(10, ['email']);
      assert.deepEqual(jobs.map((j) => j.id).sort(), [a1, b1, free].sort());
      assert.equal((await claim(10, ['email'])).length, 0);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: a1, token: jobs.find((j) => j.id === a1)!.leaseToken, result: null }], now: T0 });
      assert.equal((await claim(10, ['email'])).length, 1);
    });

    it('does not claim a paused task until the pause ends', async () => {
      await insert();
      await store.pauseTask({ task: 'email', until: T0 + 5000 });
      assert.equal((await claim(10, ['email'], T0 + 4999)).length, 0);
      assert.equal(await store.nextRunAt({ tasks: ['email', 'report'] }), T0 + 5000, 'the next run time waits for the pause to end');
      await insert({ task: 'report', runAt: T0 + 2000 });
      assert.equal(await store.nextRunAt({ tasks: ['email', 'report'] }), T0 + 2000, 'the earliest of the tasks');
      assert.equal((await claim(10, ['email'], T0 + 5000)).length, 1);
      const [task] = await store.getTasks({ names: ['email'] });
      assert.equal(task.pausedUntil, T0 + 5000);
    });

    it('resumes a paused task at once; false for a task that does not exist', async () => {
      await insert();
      await store.pauseTask({ task: 'email', until: T0 + 60_000 });
      assert.equal((await claim(10, ['email'])).length, 0);
      assert.equal(await store.resumeTask({ task: 'email' }), true);
      assert.equal((await store.getTasks({ names: ['email'] }))[0].pausedUntil, null);
      assert.equal((await claim(10, ['email'])).length, 1);
      assert.equal(await store.resumeTask({ task: 'email' }), true, 'a task not paused is resumed all the same');
      assert.equal(await store.resumeTask({ task: 'no.such.task' }), false);
    });

    // ---- finishing -----------------------------------------------------------------------------

    it('records success, failure and requeue, each fenced by the lease token', async () => {
      const ok = await insert();
      const bad = await insert();
      const again = await insert();
      const [j1, j2, j3] = await claim(3, ['email']);
      const error = JSON.stringify({ message: 'boom', code: 'HANDLER_ERROR', attempt: 1, at: new Date(T0).toISOString() });
      const r = await store.finishJobs({
        transitions: [
          { to: 'succeeded', id: j1.id, token: j1.leaseToken, result: '{"sent":true}' },
          { to: 'failed', id: j2.id, token: j2.leaseToken, error },
          { to: 'queued', id: j3.id, token: j3.leaseToken, runAt: T0 + 1000, error, countAttempt: true },
        ],
        now: T0 + 10,
      });
      assert.deepEqual(
        r.results.map((x) => x.ok),
        [true, true, true],
      );
      assert.deepEqual(
        r.results.map((x) => x.task),
        ['email', 'email', 'email'],
      );
      const [s, f, q] = await Promise.all([ok, bad, again].map((id) => store.getJob({ id })));
      assert.equal(s!.state, 'succeeded');
      assert.equal(s!.result, '{"sent":true}');
      assert.equal(s!.finishedAt, T0 + 10);
      assert.equal(f!.state, 'failed');
      assert.equal(JSON.parse(f!.error!).message, 'boom');
      assert.equal(JSON.parse(f!.errors!).length, 1);
      assert.equal(q!.state, 'queued');
      assert.equal(q!.runAt, T0 + 1000);
      assert.equal(q!.attempt, 1);
      assert.equal(JSON.parse(q!.error!).message, 'boom');
      // The same tokens again: all refused, nothing changes.
      const stale = await store.finishJobs({ transitions: [{ to: 'succeeded', id: j3.id, token: j3.leaseToken, result: '"late"' }], now: T0 + 20 });
      assert.deepEqual(
        stale.results.map((x) => x.ok),
        [false],
      );
      assert.equal((await store.getJob({ id: again }))!.state, 'queued');
      // A finished job keeps the token of the attempt that finished it (a repeated delivery is
      // recognised by it); a requeued one has none.
      assert.deepEqual([s!.leaseToken, f!.leaseToken, q!.leaseToken], [j1.leaseToken, j2.leaseToken, null]);
      const repeat = await store.finishJobs({ transitions: [{ to: 'succeeded', id: j1.id, token: j1.leaseToken, result: '{"sent":true}' }], now: T0 + 30 });
      assert.deepEqual(
        repeat.results.map((x) => x.ok),
        [false],
        'the fence itself refuses it: the rule lives above the store',
      );
      assert.equal((await store.getJob({ id: ok }))!.finishedAt, T0 + 10);
    });

    it("tells each transition that took effect its job's concurrency key", async () => {
      await insert({ concurrencyKey: 'acct-1' });
      await insert();
      const [a, b] = await claim(2, ['email']);
      const r = await store.finishJobs({
        transitions: [
          { to: 'succeeded', id: a.id, token: a.leaseToken, result: null },
          { to: 'queued', id: b.id, token: b.leaseToken, runAt: T0, error: null, countAttempt: false },
          { to: 'succeeded', id: a.id, token: 'stale', result: null },
        ],
        now: T0,
      });
      assert.deepEqual(r.results, [
        { ok: true, task: 'email', concurrencyKey: 'acct-1', batchId: null },
        { ok: true, task: 'email', concurrencyKey: null, batchId: null },
        { ok: false, task: null, concurrencyKey: null },
      ]);
    });

    it('refunds the attempt of a release and keeps only the last ten errors', async () => {
      await insert({ maxAttempts: 100 });
      const [j] = await claim(1, ['email']);
      await store.finishJobs({ transitions: [{ to: 'queued', id: j.id, token: j.leaseToken, runAt: T0, error: null, countAttempt: false }], now: T0 });
      assert.equal((await store.getJob({ id: j.id }))!.attempt, 0);
      for (let i = 1; i <= 12; i++) {
        const [again] = await claim(1, ['email']);
        const error = JSON.stringify({ message: `e${i}`, attempt: again.attempt, at: new Date(T0).toISOString() });
        await store.finishJobs({ transitions: [{ to: 'queued', id: j.id, token: again.leaseToken, runAt: T0, error, countAttempt: true }], now: T0 });
      }
      const row = await store.getJob({ id: j.id });
      const errors = JSON.parse(row!.errors!) as { message: string }[];
      assert.equal(errors.length, 10);
      assert.equal(errors[0].message, 'e3');
      assert.equal(errors[9].message, 'e12');
      assert.equal(row!.attempt, 12);
    });

    it('claims the next jobs in the same call as finishing', async () => {
      await insert();
      await insert();
      const [j] = await claim(1, ['email']);
      const r = await store.finishJobs({
        transitions: [{ to: 'succeeded', id: j.id, token: j.leaseToken, result: null }],
        now: T0,
        claim: { workerId: 'w1', tasks: ['email'], max: 5, leaseMs: LEASE, now: T0 },
      });
      assert.equal(r.claimed.length, 1);
      assert.notEqual(r.claimed[0].id, j.id);
    });

    it('extends leases, records progress, and reports lost leases', async () => {
      await insert();
      const [j] = await claim(1, ['email']);
      const r = await store.touchJobs({
        touches: [{ id: j.id, token: j.leaseToken, progress: { done: 3, total: 10, message: 'page 3' } }],
        leaseExpiresAt: T0 + 99_000,
        now: T0,
      });
      assert.deepEqual(r.lost, []);
      const row = await store.getJob({ id: j.id });
      assert.equal(row!.leaseExpiresAt, T0 + 99_000);
      assert.deepEqual([row!.progressDone, row!.progressTotal, row!.progressMessage], [3, 10, 'page 3']);
      const lost = await store.touchJobs({ touches: [{ id: j.id, token: '12345' }], leaseExpiresAt: T0 + 1, now: T0 });
      assert.deepEqual(lost.lost, [j.id]);
      assert.equal((await store.getJob({ id: j.id }))!.leaseExpiresAt, T0 + 99_000);
    });

    // ---- expired leases --------------------------------------------------------------------------

    it('puts back jobs whose lease expired, failing those on their last attempt', async () => {
      const retry = await insert({ maxAttempts: 2 });
      const last = await insert({ maxAttempts: 1 });
      const jobs = await claim(2, ['email']);
      assert.equal((await store.reapExpiredLeases({ now: T0 + LEASE - 1, limit: 100 })).requeued.length, 0);
      const r = await store.reapExpiredLeases({ now: T0 + LEASE + 1, limit: 100 });
      assert.deepEqual(
        r.requeued.map((j) => j.id),
        [retry],
      );
      assert.deepEqual(
        r.failed.map((j) => j.id),
        [last],
      );
      const requeued = await store.getJob({ id: retry });
      assert.equal(requeued!.state, 'queued');
      assert.equal(JSON.parse(requeued!.error!).code, 'LEASE_EXPIRED');
      assert.equal((await store.getJob({ id: last }))!.state, 'failed');
      // The presumed-dead worker's late completion is refused.
      const late = await store.finishJobs({
        transitions: jobs.map((j) => ({ to: 'succeeded' as const, id: j.id, token: j.leaseToken, result: null })),
        now: T0 + LEASE + 2,
      });
      assert.deepEqual(
        late.results.map((x) => x.ok),
        [false, false],
      );
      // The retry gets a new token.
      const [again] = await claim(1, ['email'], T0 + LEASE + 3);
      assert.equal(again.id, retry);
      assert.equal(again.attempt, 2);
      assert.notEqual(again.leaseToken, jobs.find((j) => j.id === retry)!.leaseToken);
    });

    // ---- batches -------------------------------------------------------------------------------

    it('counts a batch live and enqueues its onFinish job exactly once', async () => {
      const r = await store.insertJobs({
        jobs: [newJob(), newJob(), newJob()],
        batch: { title: 'nightly', onFinish: newJob({ task: 'report', input: '{"n":1}' }) },
        now: T0,
      });
      const batchId = r.batchId!;
      assert.ok(batchId);
      const b0 = await store.getBatch({ id: batchId });
      assert.deepEqual([b0!.title, b0!.total, b0!.succeeded, b0!.finishedAt], ['nightly', 3, 0, null]);
      const [a, b, c] = await claim(3, ['email']);
      assert.equal(a.batchId, batchId);
      const f1 = await store.finishJobs({ transitions: [{ to: 'succeeded', id: a.id, token: a.leaseToken, result: null }], now: T0 + 1 });
      assert.equal(f1.finishedBatches.length, 0);
      assert.equal((await store.getBatch({ id: batchId }))!.succeeded, 1);
      const err = JSON.stringify({ message: 'x', attempt: 1, at: new Date(T0).toISOString() });
      const f2 = await store.finishJobs({
        transitions: [
          { to: 'failed', id: b.id, token: b.leaseToken, error: err },
          { to: 'succeeded', id: c.id, token: c.leaseToken, result: null },
        ],
        now: T0 + 2,
      });
      assert.equal(f2.finishedBatches.length, 1);
      assert.deepEqual([f2.finishedBatches[0].succeeded, f2.finishedBatches[0].failed], [2, 1]);
      assert.equal(f2.followUps.length, 1);
      const onFinish = await store.getJob({ id: f2.followUps[0].id });
      assert.equal(onFinish!.task, 'report');
      const input = JSON.parse(onFinish!.input as string);
      assert.deepEqual(input.input, { n: 1 });
      assert.deepEqual([input.batch.id, input.batch.ok, input.batch.succeeded, input.batch.failed], [batchId, false, 2, 1]);
      const done = await store.getBatch({ id: batchId });
      assert.equal(done!.finishedAt, T0 + 2);
      assert.equal(done!.onFinishJobId, onFinish!.id);
      // Retrying the failed member reopens the batch; finishing it again does not enqueue a second onFinish.
      await store.retryJob({ id: b.id, now: T0 + 3 });
      assert.equal((await store.getBatch({ id: batchId }))!.finishedAt, null);
      const [b2] = await claim(1, ['email'], T0 + 3);
      const f3 = await store.finishJobs({ transitions: [{ to: 'succeeded', id: b2.id, token: b2.leaseToken, result: null }], now: T0 + 4 });
      assert.equal(f3.finishedBatches.length, 1);
      assert.equal(f3.followUps.length, 0);
      assert.equal((await store.getBatch({ id: batchId }))!.succeeded, 3);
    });

    it('finishes an empty batch at once, and counts cancelled and purged members', async () => {
      const empty = await store.insertJobs({ jobs: [], batch: { title: null, onFinish: newJob({ task: 'report' }) }, now: T0 });
      assert.ok(empty.finishedBatch);
      assert.equal(empty.followUps.length, 1);
      const r = await store.insertJobs({ jobs: [newJob(), newJob({ task: 'report' })], batch: { title: 'b', onFinish: null }, now: T0 });
      const c = await store.cancelJob({ id: r.jobs[0].id, now: T0 });
      assert.equal(c.finishedBatch, null);
      const p = await store.purgeJobs({ task: 'report', states: ['queued'], now: T0 });
      assert.equal(p.finishedBatches.length, 1);
      assert.deepEqual([p.finishedBatches[0].cancelled, p.finishedBatches[0].total], [2, 2]);
    });

    // ---- cancel, retry, purge ------------------------------------------------------------------

    it('cancels queued and running jobs, not finished ones', async () => {
      const queued = await insert();
      const running = await insert();
      const r1 = await store.cancelJob({ id: queued, now: T0 });
      assert.equal(r1.previous, 'queued');
      assert.equal(r1.row.state, 'cancelled');
      const [j] = await claim(1, ['email']);
      assert.equal(j.id, running);
      const r2 = await store.cancelJob({ id: running, now: T0 + 5 });
      assert.equal(r2.previous, 'running');
      assert.equal(r2.row.finishedAt, T0 + 5);
      // The worker's completion after the cancel is refused: a cancelled job never ends up succeeded.
      const late = await store.finishJobs({ transitions: [{ to: 'succeeded', id: j.id, token: j.leaseToken, result: '1' }], now: T0 + 6 });
      assert.equal(late.results[0].ok, false);
      assert.equal((await store.getJob({ id: running }))!.state, 'cancelled');
      // Cancelling again is harmless.
      assert.equal((await store.cancelJob({ id: running, now: T0 + 7 })).previous, 'cancelled');
      const done = await insert();
      const [d] = await claim(1, ['email']);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: d.id, token: d.leaseToken, result: null }], now: T0 });
      await assert.rejects(store.cancelJob({ id: done, now: T0 }), InvalidStateError);
      await assert.rejects(store.cancelJob({ id: '424242', now: T0 }), JobNotFoundError);
    });

    it('retries failed and cancelled jobs as new, and refuses the rest', async () => {
      const id = await insert({ maxAttempts: 1 });
      const [j] = await claim(1, ['email']);
      await store.finishJobs({
        transitions: [{ to: 'failed', id, token: j.leaseToken, error: '{"message":"x","attempt":1,"at":"2026-01-01T00:00:00.000Z"}' }],
        now: T0,
      });
      const row = await store.retryJob({ id, now: T0 + 100 });
      assert.deepEqual([row.state, row.attempt, row.runAt, row.finishedAt], ['queued', 0, T0 + 100, null]);
      assert.equal(JSON.parse((await store.getJob({ id }))!.errors!).length, 1, 'the history of errors is kept');
      await assert.rejects(store.retryJob({ id, now: T0 }), InvalidStateError);
      await assert.rejects(store.retryJob({ id: '777777', now: T0 }), JobNotFoundError);
      // A retry that would break a unique key is refused.
      const u1 = await insert({ uniqueKey: 'u' });
      await store.cancelJob({ id: u1, now: T0 });
      await insert({ uniqueKey: 'u' });
      await assert.rejects(store.retryJob({ id: u1, now: T0 }), InvalidStateError);
    });

    it('purges jobs of one task in the given states only', async () => {
      await insert();
      await insert();
      await insert({ task: 'report' });
      const [j] = await claim(1, ['email']);
      assert.equal((await store.purgeJobs({ task: 'email', states: ['queued'], now: T0 })).deleted, 1);
      assert.equal((await store.getJob({ id: j.id }))!.state, 'running');
      await assert.rejects(store.purgeJobs({ task: 'email', states: ['running'], now: T0 }), InvalidOptionError);
      assert.equal((await store.countJobs({ task: 'report' }))[0].count, 1);
    });

    // ---- reading -------------------------------------------------------------------------------

    it('lists jobs newest first with filters and pages', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await insert());
      const rep = await insert({ task: 'report' });
      const all = await store.listJobs({ limit: 100 });
      assert.deepEqual(
        all.map((j) => j.id),
        [rep, ...ids.reverse()],
      );
      const page1 = await store.listJobs({ task: 'email', limit: 2 });
      const page2 = await store.listJobs({ task: 'email', limit: 2, beforeId: page1[1].id });
      assert.deepEqual(
        [...page1, ...page2].map((j) => j.id),
        ids.slice(0, 4),
      );
      await claim(1, ['email']);
      assert.equal((await store.listJobs({ state: 'running', limit: 10 })).length, 1);
      const b = await store.insertJobs({ jobs: [newJob()], batch: { title: null, onFinish: null }, now: T0 });
      assert.deepEqual(
        (await store.listJobs({ batchId: b.batchId!, limit: 10 })).map((j) => j.id),
        [b.jobs[0].id],
      );
    });

    it('pages through more than a thousand jobs newest first, each exactly once', async () => {
      // Ids past 999 catch an order by the id's text ("999" after "1000") under a numeric cursor.
      const jobs = Array.from({ length: 1200 }, (_, i) => newJob({ task: i % 3 === 0 ? 'report' : 'email' }));
      const inserted = (await store.insertJobs({ jobs, now: T0 })).jobs.map((j) => j.id);
      const walk = async (task?: string): Promise<string[]> => {
        const seen: string[] = [];
        let beforeId: string | undefined;
        for (;;) {
          const page = await store.listJobs({ task, limit: 97, beforeId });
          seen.push(...page.map((j) => j.id));
          if (page.length < 97) return seen;
          beforeId = page[page.length - 1].id;
        }
      };
      const newestFirst = [...inserted].reverse();
      assert.deepEqual(await walk(), newestFirst);
      assert.deepEqual(
        await walk('report'),
        newestFirst.filter((_, i) => (1199 - i) % 3 === 0),
      );
    });

    it('counts jobs per task and state', async () => {
      await insert();
      await insert();
      await insert({ task: 'report' });
      const [j] = await claim(1, ['email']);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: j.id, token: j.leaseToken, result: null }], now: T0 });
      const counts = (await store.countJobs({})).map((c) => `${c.task}:${c.state}:${c.count}`).sort();
      assert.deepEqual(counts, ['email:queued:1', 'email:succeeded:1', 'report:queued:1']);
      const active = (await store.countJobs({ states: ['queued', 'running'] })).map((c) => `${c.task}:${c.state}:${c.count}`).sort();
      assert.deepEqual(active, ['email:queued:1', 'report:queued:1'], 'only the states asked for');
      assert.deepEqual(
        (await store.countJobs({ states: ['succeeded'] })).map((c) => `${c.task}:${c.state}:${c.count}`),
        ['email:succeeded:1'],
      );
    });

    it('counts queued jobs per task and priority, running ones left out', async () => {
      await insert({ priority: 1 });
      await insert();
      await insert();
      await insert({ priority: -1, task: 'report' });
      await insert({ priority: 5 });
      await claim(1, ['email']); // the priority 5 one
      const rows = (await store.countQueuedByPriority()).map((r) => `${r.task}:${r.priority}:${r.count}`).sort();
      assert.deepEqual(rows, ['email:0:2', 'email:1:1', 'report:-1:1']);
    });

    // ---- registry, workers, retention ----------------------------------------------------------

    it('keeps task settings, replacing them on re-registration', async () => {
      await register('email', { maxAttempts: 7, concurrency: 3 });
      const [t] = await store.getTasks({ names: ['email'] });
      assert.equal(t.settings.maxAttempts, 7);
      assert.equal(t.settings.concurrency, 3);
      assert.deepEqual(
        (await store.getTasks({})).map((x) => x.name),
        ['email', 'report'],
      );
    });

    it('records, lists and removes workers', async () => {
      const w = { id: 'w-1', kind: 'node', host: 'h', pid: 1, tasks: ['email'], concurrency: 4, startedAt: T0, lastSeenAt: T0 };
      await store.upsertWorker({ worker: w });
      await store.upsertWorker({ worker: { ...w, lastSeenAt: T0 + 10 } });
      const list = await store.listWorkers({});
      assert.equal(list.length, 1);
      assert.deepEqual(list[0].tasks, ['email']);
      assert.equal(list[0].lastSeenAt, T0 + 10);
      assert.equal((await store.listWorkers({ seenSince: T0 + 11 })).length, 0);
      await store.removeWorker({ id: 'w-1' });
      assert.equal((await store.listWorkers({})).length, 0);
    });

    it('prunes finished jobs past their task retention', async () => {
      await register('email', { retention: { succeeded: 1000, failed: 5000 } });
      await insert();
      await insert({ maxAttempts: 1 });
      await insert();
      const [s, f] = await claim(2, ['email']);
      await store.finishJobs({
        transitions: [
          { to: 'succeeded', id: s.id, token: s.leaseToken, result: null },
          { to: 'failed', id: f.id, token: f.leaseToken, error: '{"message":"x","attempt":1,"at":"2026-01-01T00:00:00.000Z"}' },
        ],
        now: T0,
      });
      assert.equal((await store.pruneJobs({ now: T0 + 999, limit: 100 })).deleted, 0);
      assert.equal((await store.pruneJobs({ now: T0 + 1001, limit: 100 })).deleted, 1);
      assert.equal(await store.getJob({ id: s.id }), null);
      assert.ok(await store.getJob({ id: f.id }));
      assert.equal((await store.pruneJobs({ now: T0 + 5001, limit: 100 })).deleted, 1);
      assert.equal((await store.countJobs({})).find((c) => c.state === 'queued')!.count, 1, 'queued jobs are never pruned');
    });

    it('registers tasks only if missing, and removes tasks without live jobs', async () => {
      await store.registerTasks({ tasks: [{ name: 'email', settings: resolveTaskSettings('email', { maxAttempts: 9 }) }], now: T0, onlyIfMissing: true });
      assert.equal((await store.getTasks({ names: ['email'] }))[0].settings.maxAttempts, 3, 'existing settings kept');
      await store.registerTasks({ tasks: [{ name: 'gearman.fn', settings: resolveTaskSettings('gearman.fn', {}) }], now: T0, onlyIfMissing: true });
      assert.equal((await store.getTasks({ names: ['gearman.fn'] })).length, 1);
      await insert({ task: 'gearman.fn' });
      assert.equal(await store.removeTask({ name: 'gearman.fn' }), false, 'it has a queued job');
      await store.purgeJobs({ task: 'gearman.fn', states: ['queued'], now: T0 });
      assert.equal(await store.removeTask({ name: 'gearman.fn' }), true);
      assert.equal(await store.removeTask({ name: 'gearman.fn' }), false);
      assert.deepEqual(
        (await store.getTasks({})).map((t) => t.name),
        ['email', 'report'],
      );
    });

    it('finds queued and running jobs by unique key across tasks', async () => {
      const a = await insert({ uniqueKey: 'shared' });
      const b = await insert({ task: 'report', uniqueKey: 'shared' });
      await insert({ uniqueKey: 'other' });
      assert.deepEqual(
        (await store.findJobsByUniqueKey({ uniqueKey: 'shared' })).map((j) => j.id),
        [a, b],
      );
      await store.cancelJob({ id: a, now: T0 });
      assert.deepEqual(
        (await store.findJobsByUniqueKey({ uniqueKey: 'shared' })).map((j) => j.id),
        [b],
      );
      assert.deepEqual(await store.findJobsByUniqueKey({ uniqueKey: 'none' }), []);
    });

    it('finds jobs by unique key in id order past id 999', async () => {
      await store.insertJobs({ jobs: Array.from({ length: 997 }, () => newJob()), now: T0 });
      const below = await insert({ uniqueKey: 'straddle' });
      await store.insertJobs({ jobs: [newJob(), newJob()], now: T0 });
      const above = await insert({ task: 'report', uniqueKey: 'straddle' });
      assert.ok(below.length === 3 && above.length === 4, `ids ${below} and ${above} straddle 1000`);
      assert.deepEqual(
        (await store.findJobsByUniqueKey({ uniqueKey: 'straddle' })).map((j) => j.id),
        [below, above],
      );
    });

    it('stores tokens by hash, lists, finds and revokes them', async () => {
      const t = await store.createToken({ name: 'agent-1', scope: 'work', tasks: ['ml.*'], hash: 'h1', now: T0 });
      assert.deepEqual([t.name, t.scope, t.tasks, t.hash, t.createdAt, t.revokedAt], ['agent-1', 'work', ['ml.*'], 'h1', T0, null]);
      await assert.rejects(store.createToken({ name: 'agent-1', scope: 'read', tasks: [], hash: 'h2', now: T0 }), InvalidOptionError);
      await store.createToken({ name: 'admin', scope: 'admin', tasks: [], hash: 'h3', now: T0 });
      assert.equal((await store.findToken({ hash: 'h1' }))!.name, 'agent-1');
      assert.equal(await store.findToken({ hash: 'nope' }), null);
      assert.deepEqual(
        (await store.listTokens({})).map((x) => x.name),
        ['admin', 'agent-1'],
      );
      assert.equal(await store.revokeToken({ name: 'agent-1', now: T0 + 1 }), true);
      assert.equal(await store.revokeToken({ name: 'agent-1', now: T0 + 2 }), false);
      assert.equal(await store.findToken({ hash: 'h1' }), null, 'a revoked token no longer authenticates');
      assert.deepEqual(
        (await store.listTokens({})).map((x) => x.name),
        ['admin'],
      );
      const all = await store.listTokens({ includeRevoked: true });
      assert.equal(all.find((x) => x.name === 'agent-1')!.revokedAt, T0 + 1);
    });

    // ---- schedules -----------------------------------------------------------------------------

    const MINUTE = 60_000;
    function scheduleDef(overrides: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
      return { ...resolveSchedule('every-minute', 'report', { cron: '* * * * *', input: { kind: 'minutely' } }), ...overrides };
    }
    const tickKey = (at: number) => ({ key: `tick-${at}`, fingerprint: 'f', expiresAt: T0 + 7 * 86_400_000 });

    it('saves a schedule: a new one starts at the given cursor; an edit keeps it unless the rule or zone changed', async () => {
      const saved = await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
      assert.equal(saved.name, 'every-minute');
      assert.equal(saved.cron, '* * * * *');
      assert.equal(saved.input, '{"kind":"minutely"}');
      assert.equal(saved.nextTickAt, T0 + MINUTE);
      assert.equal(saved.paused, false);
      assert.equal(saved.lastJobId, null);
      const edited = await store.saveSchedule({ schedule: scheduleDef({ input: '"other"' }), nextTickAt: T0 + 5 * MINUTE, now: T0 + 1 });
      assert.equal(edited.nextTickAt, T0 + MINUTE, 'same rule: the cursor stays');
      assert.equal(edited.input, '"other"');
      const rule = await store.saveSchedule({ schedule: scheduleDef({ cron: '*/5 * * * *' }), nextTickAt: T0 + 5 * MINUTE, now: T0 + 2 });
      assert.equal(rule.nextTickAt, T0 + 5 * MINUTE, 'a new rule starts afresh');
      const zone = await store.saveSchedule({
        schedule: scheduleDef({ cron: '*/5 * * * *', timezone: 'Europe/Berlin' }),
        nextTickAt: T0 + 10 * MINUTE,
        now: T0 + 3,
      });
      assert.equal(zone.nextTickAt, T0 + 10 * MINUTE, 'a new time zone starts afresh');
      assert.deepEqual(
        (await store.getSchedules({})).map((r) => r.name),
        ['every-minute'],
      );
      assert.deepEqual(await store.getSchedules({ names: ['nope'] }), []);
    });

    it('fires a tick once: the job is stored, the cursor moves, and a second try of the same tick stores nothing', async () => {
      await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
      const now = T0 + MINUTE;
      const tick = { cursor: T0 + MINUTE, at: T0 + MINUTE, next: T0 + 2 * MINUTE };
      const job = newJob({ task: 'report', origin: 'schedule:every-minute', runAt: now });
      const first = await store.fireSchedule({ name: 'every-minute', job, tick, submitKey: tickKey(tick.at), now });
      assert.equal(first.outcome, 'fired');
      const again = await store.fireSchedule({ name: 'every-minute', job, tick, submitKey: tickKey(tick.at), now });
      assert.equal(again.outcome, 'stale');
      assert.equal(again.job, null);
      const [record] = await store.getSchedules({ names: ['every-minute'] });
      assert.equal(record.nextTickAt, T0 + 2 * MINUTE);
      assert.equal(record.lastTickAt, T0 + MINUTE);
      assert.equal(record.lastJobId, first.job!.id);
      assert.equal(record.lastJobState, 'queued');
      assert.equal((await store.countJobs({ task: 'report' }))[0].count, 1);
      assert.equal((await store.getJob({ id: first.job!.id }))!.origin, 'schedule:every-minute');
    });

    it('fires a tick tried by two connections at once exactly once', async () => {
      const other = await fixture.open();
      try {
        await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
        const now = T0 + MINUTE;
        const tick = { cursor: T0 + MINUTE, at: T0 + MINUTE, next: T0 + 2 * MINUTE };
        const job = newJob({ task: 'report', runAt: now });
        const results = await Promise.all(
          [store, other, store, other].map((s) => s.fireSchedule({ name: 'every-minute', job, tick, submitKey: tickKey(tick.at), now })),
        );
        assert.deepEqual(results.map((r) => r.outcome).sort(), ['fired', 'stale', 'stale', 'stale']);
        assert.equal((await store.countJobs({ task: 'report' }))[0].count, 1);
      } finally {
        await other.close();
      }
    });

    it('skips a tick while the last job is queued or running (overlap skip), and fires it with overlap allow', async () => {
      await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
      const job = newJob({ task: 'report' });
      const at = (n: number) => ({ cursor: T0 + n * MINUTE, at: T0 + n * MINUTE, next: T0 + (n + 1) * MINUTE });
      assert.equal((await store.fireSchedule({ name: 'every-minute', job, tick: at(1), now: T0 + MINUTE })).outcome, 'fired');
      const skipped = await store.fireSchedule({ name: 'every-minute', job, tick: at(2), now: T0 + 2 * MINUTE });
      assert.equal(skipped.outcome, 'skipped');
      const [record] = await store.getSchedules({ names: ['every-minute'] });
      assert.equal(record.nextTickAt, T0 + 3 * MINUTE, 'a skipped tick moves the cursor');
      assert.equal(record.lastTickAt, T0 + 2 * MINUTE);
      await store.saveSchedule({ schedule: scheduleDef({ overlap: 'allow' }), nextTickAt: 0, now: T0 });
      assert.equal((await store.fireSchedule({ name: 'every-minute', job, tick: at(3), now: T0 + 3 * MINUTE })).outcome, 'fired');
      assert.equal((await store.countJobs({ task: 'report' }))[0].count, 2);
    });

    it('passes over a missed tick, refuses ticks of a paused schedule, and resumes from the given cursor', async () => {
      await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
      const dropped = await store.fireSchedule({
        name: 'every-minute',
        job: null,
        tick: { cursor: T0 + MINUTE, at: T0 + MINUTE, next: T0 + 9 * MINUTE },
        now: T0,
      });
      assert.equal(dropped.outcome, 'dropped');
      assert.deepEqual(
        (await store.dueSchedules({ now: T0 + 9 * MINUTE, limit: 10 })).map((r) => r.nextTickAt),
        [T0 + 9 * MINUTE],
      );
      assert.equal(await store.nextScheduleTick(), T0 + 9 * MINUTE);
      assert.equal(await store.setSchedulePaused({ name: 'every-minute', paused: true, nextTickAt: null, now: T0 }), true);
      assert.deepEqual(await store.dueSchedules({ now: T0 + 99 * MINUTE, limit: 10 }), [], 'a paused schedule is never due');
      assert.equal(await store.nextScheduleTick(), null);
      const refused = await store.fireSchedule({
        name: 'every-minute',
        job: newJob({ task: 'report' }),
        tick: { cursor: T0 + 9 * MINUTE, at: T0 + 9 * MINUTE, next: null },
        now: T0,
      });
      assert.equal(refused.outcome, 'stale');
      assert.equal(await store.setSchedulePaused({ name: 'every-minute', paused: false, nextTickAt: T0 + 20 * MINUTE, now: T0 }), true);
      const [record] = await store.getSchedules({ names: ['every-minute'] });
      assert.equal(record.paused, false);
      assert.equal(record.nextTickAt, T0 + 20 * MINUTE);
      assert.equal(await store.setSchedulePaused({ name: 'nope', paused: true, nextTickAt: null, now: T0 }), false);
    });

    it('runs a schedule by hand without moving its cursor, and removes it', async () => {
      await store.saveSchedule({ schedule: scheduleDef(), nextTickAt: T0 + MINUTE, now: T0 });
      const run = await store.fireSchedule({ name: 'every-minute', job: newJob({ task: 'report' }), now: T0 });
      assert.equal(run.outcome, 'fired');
      const [record] = await store.getSchedules({ names: ['every-minute'] });
      assert.equal(record.nextTickAt, T0 + MINUTE);
      assert.equal(record.lastTickAt, null);
      assert.equal(record.lastJobId, run.job!.id);
      assert.equal(await store.removeSchedule({ name: 'every-minute' }), true);
      assert.equal(await store.removeSchedule({ name: 'every-minute' }), false);
      assert.equal((await store.fireSchedule({ name: 'every-minute', job: newJob({ task: 'report' }), now: T0 })).outcome, 'gone');
    });

    // ---- other processes -----------------------------------------------------------------------

    it('says which process runs a cluster duty: one at a time, or every one, as its capability says', async () => {
      const other = await fixture.open();
      try {
        assert.equal(await store.holdDuty({ duty: 'rescuer' }), true);
        assert.equal(await other.holdDuty({ duty: 'rescuer' }), store.capabilities.clusterDuties === 'every-process');
        assert.equal(await store.holdDuty({ duty: 'rescuer' }), true, 'kept while held');
        assert.equal(await other.holdDuty({ duty: 'pruner' }), true, 'each duty is held on its own');
      } finally {
        await other.close();
      }
    });

    it('tells a watcher about changes made through another connection', async () => {
      const other = await fixture.open();
      try {
        const seen = new Promise<void>((resolve) => {
          const off = store.watch(() => {
            off();
            resolve();
          });
        });
        await other.insertJobs({ jobs: [newJob()], now: T0 });
        await seen;
      } finally {
        await other.close();
      }
    });
  });
}
