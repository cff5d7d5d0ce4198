/**
 * Store conformance for the counts the store keeps (countJobs, throughput): every backend runs
 * these (see sqlite.test.ts and postgres.test.ts). The counters are checked against the rows
 * themselves, read back by listJobs, after each step of a workload that changes jobs every way
 * the store can.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { JobState } from '../../src/core/job.js';
import { resolveTaskSettings } from '../../src/core/task.js';
import type { ClaimedJob, NewJob, Store, Transition } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';
import { newJob } from './store-suite.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const LEASE = 30_000;
const TASKS = ['email', 'report', 'flow.step'];

/** `task:state:count`, sorted: what countJobs says. */
async function counted(store: Store, p: { task?: string; states?: JobState[] } = {}): Promise<string[]> {
  return (await store.countJobs(p)).map((c) => `${c.task}:${c.state}:${c.count}`).sort();
}

/** The same, counted from the rows. */
async function rows(store: Store, p: { task?: string; states?: JobState[] } = {}): Promise<string[]> {
  const by = new Map<string, number>();
  for (const j of await store.listJobs({ limit: 100_000, task: p.task })) {
    if (p.states && !p.states.includes(j.state)) continue;
    by.set(`${j.task}:${j.state}`, (by.get(`${j.task}:${j.state}`) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${k}:${n}`).sort();
}

async function assertCountsMatchRows(store: Store, step: string): Promise<void> {
  assert.deepEqual(await counted(store), await rows(store), `after ${step}`);
  for (const task of TASKS) assert.deepEqual(await counted(store, { task }), await rows(store, { task }), `after ${step}, task ${task}`);
  const active: JobState[] = ['waiting', 'queued', 'running'];
  assert.deepEqual(await counted(store, { states: active }), await rows(store, { states: active }), `after ${step}, live states`);
}

function errorAt(now: number, attempt = 1): string {
  return JSON.stringify({ message: 'boom', code: 'HANDLER_ERROR', attempt, at: new Date(now).toISOString() });
}

const succeed = (j: ClaimedJob): Transition => ({ to: 'succeeded', id: j.id, token: j.leaseToken, result: '{}' });
const failForGood = (j: ClaimedJob, now: number): Transition => ({ to: 'failed', id: j.id, token: j.leaseToken, error: errorAt(now) });
const retry = (j: ClaimedJob, now: number): Transition => ({
  to: 'queued',
  id: j.id,
  token: j.leaseToken,
  runAt: now,
  error: errorAt(now),
  countAttempt: true,
});
const release = (j: ClaimedJob, now: number): Transition => ({ to: 'queued', id: j.id, token: j.leaseToken, runAt: now, error: null, countAttempt: false });

export function counterConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance, counters: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
      await store.registerTasks({
        tasks: TASKS.map((n) => ({ name: n, settings: resolveTaskSettings(n, { retention: { succeeded: MINUTE, failed: MINUTE, cancelled: MINUTE } }) })),
        now: T0,
      });
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    async function insert(jobs: Partial<NewJob>[], now = T0): Promise<string[]> {
      return (await store.insertJobs({ jobs: jobs.map((j) => newJob({ runAt: now, ...j })), now })).jobs.map((j) => j.id);
    }

    const claim = (tasks: string[], max: number, now: number) => store.claimJobs({ workerId: 'w1', tasks, max, leaseMs: LEASE, now });

    it('keeps counts per task and state equal to the rows through every kind of change', async () => {
      await assertCountsMatchRows(store, 'nothing');
      await insert(Array.from({ length: 20 }, () => ({})));
      await insert(Array.from({ length: 10 }, () => ({ task: 'report' })));
      await insert([{ uniqueKey: 'k' }, { uniqueKey: 'k' }]); // the second is the first
      await assertCountsMatchRows(store, 'inserts');
      assert.deepEqual(await counted(store), ['email:queued:21', 'report:queued:10']);

      const t1 = T0 + 1000;
      const email = await claim(['email'], 12, t1);
      const report = await claim(['report'], 4, t1);
      await assertCountsMatchRows(store, 'claims');
      await store.finishJobs({
        transitions: [
          ...email.slice(0, 4).map(succeed),
          ...email.slice(4, 7).map((j) => retry(j, t1)),
          ...email.slice(7, 9).map((j) => failForGood(j, t1)),
          release(email[9], t1),
          succeed(report[0]),
          failForGood(report[1], t1),
        ],
        now: t1,
        // and claims again in the same call
        claim: { workerId: 'w2', tasks: ['report'], max: 2, leaseMs: LEASE, now: t1 },
      });
      await assertCountsMatchRows(store, 'outcomes and a claim in one call');
      await store.touchJobs({ touches: [{ id: email[10].id, token: email[10].leaseToken }], leaseExpiresAt: t1 + LEASE, now: t1 });
      await assertCountsMatchRows(store, 'a heartbeat');

      // Cancels: a queued job and a running one; a retry of a failed and of a cancelled job.
      const queuedReport = (await store.listJobs({ task: 'report', state: 'queued', limit: 1 }))[0];
      await store.cancelJob({ id: queuedReport.id, now: t1 });
      await store.cancelJob({ id: email[11].id, now: t1 });
      await assertCountsMatchRows(store, 'cancels');
      await store.retryJob({ id: email[7].id, now: t1 });
      await store.retryJob({ id: queuedReport.id, now: t1 });
      await assertCountsMatchRows(store, 'retries by hand');

      // Flows: jobs that wait, one released by a success, one ended by a failure.
      const [a, b] = await insert([{ task: 'flow.step' }, { task: 'flow.step' }], t1);
      await insert(
        [
          { task: 'flow.step', after: [{ on: { id: a }, name: null, policy: 'cancel' }] },
          { task: 'flow.step', after: [{ on: { id: b }, name: null, policy: 'fail' }] },
          {
            task: 'flow.step',
            after: [
              { on: { id: a }, name: null, policy: 'cancel' },
              { on: { id: b }, name: null, policy: 'cancel' },
            ],
          },
        ],
        t1,
      );
      await assertCountsMatchRows(store, 'waiting jobs stored');
      assert.ok((await counted(store, { task: 'flow.step' })).includes('flow.step:waiting:3'));
      const steps = await claim(['flow.step'], 2, t1);
      const stepA = steps.find((s) => s.id === a)!;
      const stepB = steps.find((s) => s.id === b)!;
      await store.finishJobs({ transitions: [succeed(stepA), failForGood(stepB, t1)], now: t1 });
      await assertCountsMatchRows(store, 'waiting jobs released and ended');
      // Released and claimed in one call: one taken from waiting to running, the other queued.
      const [c] = await insert([{ task: 'flow.step' }], t1);
      await insert(
        [
          { task: 'flow.step', after: [{ on: { id: c }, name: null, policy: 'cancel' }] },
          { task: 'flow.step', after: [{ on: { id: c }, name: null, policy: 'cancel' }] },
        ],
        t1,
      );
      const stepC = (await claim(['flow.step'], 10, t1)).find((s) => s.id === c)!;
      const taken = await store.finishJobs({
        transitions: [succeed(stepC)],
        now: t1,
        claim: { workerId: 'w1', tasks: ['flow.step'], max: 1, leaseMs: LEASE, now: t1 },
      });
      assert.deepEqual([taken.claimed.length, taken.followUps.length], [1, 1]);
      await assertCountsMatchRows(store, 'waiting jobs released into a claim');
      // A waiting job stored after what it waits for had already failed: it is stored ended.
      await insert([{ task: 'flow.step', after: [{ on: { id: b }, name: null, policy: 'fail' }] }], t1);
      await assertCountsMatchRows(store, 'a job stored already ended');

      // Leases that expire: reaped back to the queue (attempts left) or failed.
      const t2 = t1 + LEASE + 1;
      await store.reapExpiredLeases({ now: t2, limit: 100 });
      await assertCountsMatchRows(store, 'reaping');

      // Purge, prune, and a task that goes away.
      await store.purgeJobs({ task: 'report', states: ['queued', 'cancelled'], now: t2 });
      await assertCountsMatchRows(store, 'purge');
      await store.pruneJobs({ now: t2 + 10 * MINUTE, limit: 1000 });
      await assertCountsMatchRows(store, 'prune');
      await store.purgeJobs({ task: 'report', states: ['queued', 'succeeded', 'failed', 'cancelled'], now: t2 });
      for (const j of await store.listJobs({ task: 'report', state: 'running', limit: 100 })) await store.cancelJob({ id: j.id, now: t2 });
      await store.purgeJobs({ task: 'report', states: ['cancelled'], now: t2 });
      assert.equal(await store.removeTask({ name: 'report' }), true);
      await assertCountsMatchRows(store, 'a task removed');
      assert.deepEqual(await counted(store, { task: 'report' }), []);

      await store.foldCounters?.();
      await assertCountsMatchRows(store, 'a fold');
      await store.foldCounters?.();
      await assertCountsMatchRows(store, 'a fold with nothing to fold');
    });

    it('counts jobs finished and attempts retried per task and minute, kept a day', async () => {
      await insert(Array.from({ length: 6 }, () => ({})));
      await insert([{ task: 'report' }]);
      const m1 = T0 + 10 * MINUTE + 5000;
      const m2 = T0 + 11 * MINUTE + 59_999;
      const first = await claim(['email', 'report'], 7, m1);
      const emails = first.filter((j) => j.task === 'email');
      const rep = first.find((j) => j.task === 'report')!;
      await store.finishJobs({
        transitions: [succeed(emails[0]), succeed(emails[1]), failForGood(emails[2], m1), retry(emails[3], m1), release(emails[4], m1)],
        now: m1,
      });
      await store.finishJobs({ transitions: [succeed(emails[5]), failForGood(rep, m2)], now: m2 });
      const minute1 = T0 + 10 * MINUTE;
      const minute2 = T0 + 11 * MINUTE;
      const expected = [
        { task: 'email', minute: minute1, succeeded: 2, failed: 1, retried: 1 },
        { task: 'email', minute: minute2, succeeded: 1, failed: 0, retried: 0 },
        { task: 'report', minute: minute2, succeeded: 0, failed: 1, retried: 0 },
      ];
      assert.deepEqual(await store.throughput({ since: T0 }), expected);
      assert.deepEqual(await store.throughput({ since: minute2 }), expected.slice(1), 'minutes from since on');
      assert.deepEqual(await store.throughput({ since: T0, tasks: ['report'] }), expected.slice(2), 'one task');
      await store.foldCounters?.();
      assert.deepEqual(await store.throughput({ since: T0 }), expected, 'the same once folded');

      // A retry by hand is no finish; purging and pruning jobs leave the buckets.
      await store.retryJob({ id: rep.id, now: m2 });
      await store.purgeJobs({ task: 'email', states: ['succeeded', 'failed'], now: m2 });
      assert.deepEqual(await store.throughput({ since: T0 }), expected);

      // A finish more: added to its minute, folded or not.
      const [again] = await claim(['report'], 1, m2);
      await store.finishJobs({ transitions: [succeed(again)], now: m2 });
      assert.deepEqual((await store.throughput({ since: T0, tasks: ['report'] }))[0], { task: 'report', minute: minute2, succeeded: 1, failed: 1, retried: 0 });

      // The pruner forgets buckets older than a day, not younger ones.
      await store.pruneJobs({ now: minute1 + 86_400_000 + 2 * MINUTE, limit: 1000 });
      assert.deepEqual(
        (await store.throughput({ since: T0 })).map((r) => `${r.task}@${(r.minute - T0) / MINUTE}`),
        ['email@11', 'report@11'],
      );
    });

    it('stays equal to the rows with two connections writing at once', async () => {
      const other = await fixture.open();
      try {
        const now = T0 + 1000;
        await insert(
          Array.from({ length: 400 }, (_, i) => ({ task: i % 2 ? 'email' : 'report' })),
          now,
        );
        // Two workers, each on its own connection, claiming and finishing in turns, at the same time.
        const drain = async (s: Store, workerId: string) => {
          for (let turn = 0; turn < 50; turn++) {
            const jobs = await s.claimJobs({ workerId, tasks: ['email', 'report'], max: 10, leaseMs: LEASE, now });
            if (jobs.length === 0) return;
            await s.finishJobs({ transitions: jobs.map((j, i) => (i % 3 === 0 ? failForGood(j, now) : succeed(j))), now });
            await s.insertJobs({ jobs: [newJob({ task: 'flow.step', runAt: now })], now });
          }
        };
        await Promise.all([drain(store, 'w1'), drain(other, 'w2'), drain(store, 'w3'), drain(other, 'w4')]);
        await assertCountsMatchRows(store, 'two writers');
        await assertCountsMatchRows(other, 'two writers, read on the other connection');
        const finished = await store.throughput({ since: T0 });
        const total = finished.reduce((n, r) => n + r.succeeded + r.failed, 0);
        assert.equal(total, 400);
        await Promise.all([store.foldCounters?.(), other.foldCounters?.()]);
        await assertCountsMatchRows(store, 'two folds at once');
        assert.deepEqual(await store.throughput({ since: T0 }), finished);
      } finally {
        await other.close();
      }
    });
  });
}
