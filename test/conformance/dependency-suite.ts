/**
 * Store conformance for dependencies (src/core/dependencies.ts): every backend runs these (see
 * sqlite.test.ts and postgres.test.ts). Time is passed explicitly.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { UnknownDependencyError } from '../../src/core/errors.js';
import { resolveTaskSettings } from '../../src/core/task.js';
import type { ClaimedJob, NewDependency, NewJob, Store } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';
import { newJob } from './store-suite.js';

const T0 = Date.UTC(2026, 0, 1);
const LEASE = 30_000;

const onId = (id: string, policy: NewDependency['policy'] = 'cancel', name: string | null = null): NewDependency => ({ on: { id }, name, policy });
const onIndex = (index: number, name: string | null = null, policy: NewDependency['policy'] = 'cancel'): NewDependency => ({ on: { index }, name, policy });

export function dependencyConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance, dependencies: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
      await store.registerTasks({ tasks: ['email', 'report'].map((n) => ({ name: n, settings: resolveTaskSettings(n, {}) })), now: T0 });
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    async function insert(overrides: Partial<NewJob> = {}, s: Store = store): Promise<string> {
      return (await s.insertJobs({ jobs: [newJob(overrides)], now: T0 })).jobs[0].id;
    }

    async function claimAll(max = 100, now = T0, s: Store = store): Promise<ClaimedJob[]> {
      return s.claimJobs({ workerId: 'w1', tasks: ['email', 'report'], max, leaseMs: LEASE, now });
    }

    async function succeed(jobs: ClaimedJob[], now = T0 + 1, s: Store = store) {
      return s.finishJobs({ transitions: jobs.map((j) => ({ to: 'succeeded' as const, id: j.id, token: j.leaseToken, result: `{"from":${j.id}}` })), now });
    }

    async function fail(job: ClaimedJob, now = T0 + 1) {
      const error = JSON.stringify({ message: 'boom', code: 'HANDLER_ERROR', attempt: 1, at: new Date(now).toISOString() });
      return store.finishJobs({ transitions: [{ to: 'failed', id: job.id, token: job.leaseToken, error }], now });
    }

    async function stateOf(id: string) {
      return (await store.getJob({ id }))!.state;
    }

    it('stores a job that waits as waiting, never claims it, and queues it when what it waits for succeeds', async () => {
      const a = await insert();
      const r = await store.insertJobs({ jobs: [newJob({ task: 'report', after: [onId(a, 'cancel', 'first')] })], now: T0 });
      const b = r.jobs[0];
      assert.equal(b.state, 'waiting');
      const row = (await store.getJob({ id: b.id }))!;
      assert.deepEqual([row.state, row.depsPending], ['waiting', 1]);
      const [first, ...more] = await claimAll();
      assert.equal(first.id, a);
      assert.equal(more.length, 0, 'the waiting job is not claimable');
      assert.ok(!first.hasDependencies, 'a job that waits for nothing says so (absent or false)');
      const done = await succeed([first]);
      assert.deepEqual(
        done.followUps.map((j) => [j.id, j.state]),
        [[b.id, 'queued']],
      );
      const [next] = await claimAll(10, T0 + 2);
      assert.equal(next.id, b.id);
      assert.equal(next.hasDependencies, true);
      const deps = await store.getDependencies({ jobIds: [b.id] });
      assert.deepEqual(
        deps.map((d) => [d.jobId, d.depId, d.name, d.policy, d.state, d.result]),
        [[b.id, a, 'first', 'cancel', 'succeeded', `{"from":${a}}`]],
      );
      // The claim brings them (the worker reads nothing else before the handler runs): the same rows.
      assert.deepEqual(next.dependencies, deps);
    });

    it("claims the dependents a worker's outcomes release in the same call, in the claim's order, and queues the rest", async () => {
      const claimIn = (max: number, tasks: string[], now: number) => ({ workerId: 'w1', tasks, max, leaseMs: LEASE, now });
      const a = await insert();
      const [first] = await claimAll(1);
      const urgent = await insert({ priority: 5 });
      const r = await store.insertJobs({
        jobs: [newJob({ after: [onId(a, 'cancel', 'a')] }), newJob({ task: 'report', after: [onId(a)] }), newJob({ after: [onId(a)], concurrencyKey: 'k' })],
        now: T0,
      });
      const [plain, report, keyed] = r.jobs.map((j) => j.id);
      // One slot: the queued job of higher priority is taken; what was released is queued for anyone.
      const one = await store.finishJobs({
        transitions: [{ to: 'succeeded', id: first.id, token: first.leaseToken, result: '"A"' }],
        now: T0 + 1,
        claim: claimIn(1, ['email'], T0 + 1),
      });
      assert.deepEqual(
        one.claimed.map((j) => j.id),
        [urgent],
      );
      assert.deepEqual(one.followUps.map((j) => [j.id, j.state]).sort(), [plain, report, keyed].map((id) => [id, 'queued']).sort());
      // Room for all: the released jobs of the claim's tasks are taken (oldest first), a later one too.
      const b = await insert({ runAt: T0 + 2, priority: 9 });
      const [second] = await claimAll(1, T0 + 2);
      assert.equal(second.id, b);
      const w = await store.insertJobs({
        jobs: [newJob({ after: [onId(b, 'cancel', 'b')] }), newJob({ after: [onId(b)], runAt: T0 + 3_600_000 })],
        now: T0 + 2,
      });
      const [next, later] = w.jobs.map((j) => j.id);
      const [u] = one.claimed;
      const all = await store.finishJobs({
        transitions: [
          { to: 'succeeded', id: second.id, token: second.leaseToken, result: '"B"' },
          { to: 'succeeded', id: u.id, token: u.leaseToken, result: null },
        ],
        now: T0 + 3,
        claim: claimIn(10, ['email', 'report'], T0 + 3),
      });
      assert.deepEqual(
        all.claimed.map((j) => j.id),
        [plain, report, keyed, next],
      );
      assert.deepEqual(
        all.followUps.map((j) => [j.id, j.state, j.runAt]),
        [[later, 'queued', T0 + 3_600_000]],
        'a released job due later is queued, not claimed; one claimed in the same call is not told as queued',
      );
      const taken = all.claimed.find((j) => j.id === next)!;
      assert.deepEqual(
        [taken.attempt, taken.hasDependencies, taken.dependencies?.map((d) => [d.depId, d.name, d.state, d.result])],
        [1, true, [[b, 'b', 'succeeded', '"B"']]],
      );
      const row = (await store.getJob({ id: next }))!;
      assert.deepEqual([row.state, row.depsPending, row.attempt], ['running', 0, 1]);
    });
    it('claims released jobs of a limited or paused task only by their own rules, in the same call', async () => {
      await store.registerTasks({
        tasks: [
          { name: 'limited', settings: resolveTaskSettings('limited', { concurrency: 1 }) },
          { name: 'resting', settings: resolveTaskSettings('resting', {}) },
        ],
        now: T0,
      });
      await store.pauseTask({ task: 'resting', until: T0 + 3_600_000 });
      const a = await insert();
      const [first] = await claimAll(1);
      const r = await store.insertJobs({
        jobs: ['limited', 'limited', 'resting', 'email'].map((task) => newJob({ task, after: [onId(a)] })),
        now: T0,
      });
      const [limitedOne, limitedTwo, resting, email] = r.jobs.map((j) => j.id);
      const out = await store.finishJobs({
        transitions: [{ to: 'succeeded', id: first.id, token: first.leaseToken, result: '"A"' }],
        now: T0 + 1,
        claim: { workerId: 'w1', tasks: ['limited', 'resting', 'email'], max: 10, leaseMs: LEASE, now: T0 + 1 },
      });
      assert.deepEqual(out.claimed.map((j) => j.id).sort(), [limitedOne, email].sort(), 'one of the limited task (its limit is 1), none of the paused one');
      assert.ok(out.claimed.every((j) => j.dependencies?.length === 1 && j.dependencies[0].result === '"A"'));
      assert.deepEqual(out.followUps.map((j) => j.id).sort(), [limitedTwo, resting].sort());
      assert.deepEqual(await Promise.all([limitedOne, limitedTwo, resting, email].map(stateOf)), ['running', 'queued', 'queued', 'running']);
    });
    it('ends waiting jobs by each edge policy when what they wait for fails, and cascades to their own dependents', async () => {
      const a = await insert();
      const r = await store.insertJobs({
        jobs: [
          newJob({ after: [onId(a, 'cancel')] }),
          newJob({ after: [onId(a, 'fail')] }),
          newJob({ after: [onId(a, 'run')] }),
          newJob({ after: [onIndex(0)] }),
          newJob({ after: [onIndex(1, null, 'run')] }),
        ],
        now: T0,
      });
      const [cancels, fails, runs, afterCancelled, runsAfterFailed] = r.jobs.map((j) => j.id);
      const [job] = await claimAll(1);
      const out = await fail(job);
      const byId = (a: string[], b: string[]) => Number(a[0]) - Number(b[0]);
      assert.deepEqual(
        out.ended.map((e) => [e.id, e.state]).sort(byId),
        [
          [cancels, 'cancelled'],
          [fails, 'failed'],
          [afterCancelled, 'cancelled'],
        ].sort(byId),
      );
      assert.deepEqual(out.followUps.map((j) => j.id).sort(), [runs, runsAfterFailed].sort());
      const failed = (await store.getJob({ id: fails }))!;
      assert.equal(JSON.parse(failed.error!).code, 'DEPENDENCY_FAILED');
      assert.match(JSON.parse(failed.error!).message, new RegExp(`job ${a} \\(email\\) failed`));
      assert.equal(await stateOf(runs), 'queued');
    });

    it('settles at submit what waits for jobs that have already finished', async () => {
      const ok = await insert();
      const bad = await insert();
      const [j1, j2] = await claimAll(2);
      await succeed([j1]);
      await fail(j2);
      const r = await store.insertJobs({
        jobs: [newJob({ after: [onId(ok)] }), newJob({ after: [onId(bad)] }), newJob({ after: [onId(bad, 'run')] }), newJob({ after: [onId(ok), onIndex(1)] })],
        now: T0 + 5,
      });
      assert.deepEqual(
        r.jobs.map((j) => j.state),
        ['queued', 'cancelled', 'queued', 'cancelled'],
      );
      for (const j of r.jobs) assert.equal(await stateOf(j.id), j.state);
    });

    it('refuses a job that waits for one that does not exist, and stores nothing', async () => {
      const a = await insert();
      await assert.rejects(
        store.insertJobs({ jobs: [newJob(), newJob({ after: [onId(a), onId('987654')] })], batch: { title: 't', onFinish: null }, now: T0 }),
        (err: unknown) => err instanceof UnknownDependencyError && /987654/.test(err.message),
      );
      assert.equal((await store.listJobs({ limit: 10 })).length, 1);
    });

    it('counts a flow as a batch: ended steps count, and it finishes when the last step does', async () => {
      const r = await store.insertJobs({
        jobs: [newJob({ step: 'a' }), newJob({ step: 'b', after: [onIndex(0, 'a')] }), newJob({ step: 'c', after: [onIndex(1, 'b')] })],
        batch: { title: 'chain', onFinish: null, flow: true },
        now: T0,
      });
      const batchId = r.batchId!;
      assert.equal((await store.getBatch({ id: batchId }))!.isFlow, true);
      const steps = await store.listBatchJobs({ batchId, limit: 10 });
      assert.deepEqual(
        steps.map((s) => [s.step, s.state]),
        [
          ['a', 'queued'],
          ['b', 'waiting'],
          ['c', 'waiting'],
        ],
      );
      const [a] = await claimAll();
      await succeed([a]);
      const [b] = await claimAll(10, T0 + 2);
      const out = await fail(b, T0 + 3);
      assert.deepEqual(
        out.ended.map((e) => [e.id, e.state, e.batchId]),
        [[r.jobs[2].id, 'cancelled', batchId]],
      );
      assert.deepEqual(
        out.finishedBatches.map((x) => [x.id, x.succeeded, x.failed, x.cancelled]),
        [[batchId, 1, 1, 1]],
      );
    });

    it('cancels what has not started of a flow; a running step finishes, and jobs outside it that wait for its steps settle', async () => {
      const r = await store.insertJobs({
        jobs: [newJob({ step: 'a' }), newJob({ step: 'b' }), newJob({ step: 'c', after: [onIndex(0), onIndex(1)] })],
        batch: { title: null, onFinish: null, flow: true },
        now: T0,
      });
      const outside = await store.insertJobs({ jobs: [newJob({ task: 'report', after: [onId(r.jobs[2].id, 'run')] })], now: T0 });
      const [running] = await claimAll(1);
      const out = await store.cancelBatch({ id: r.batchId!, now: T0 + 1 });
      assert.deepEqual(out.cancelled.map((j) => j.id).sort(), [r.jobs[1].id, r.jobs[2].id].sort());
      assert.deepEqual(
        out.followUps.map((j) => j.id),
        [outside.jobs[0].id],
      );
      assert.equal(await stateOf(running.id), 'running');
      const done = await succeed([running], T0 + 2);
      assert.deepEqual(
        done.finishedBatches.map((b) => [b.succeeded, b.cancelled]),
        [[1, 2]],
      );
    });

    it('hands a job released and claimed in one call the results it waited for, large ones too', async () => {
      const big = `"${'x'.repeat(20_000)}"`;
      const a = await insert();
      const b = await insert();
      const r = await store.insertJobs({ jobs: [newJob({ after: [onId(a, 'cancel', 'a'), onId(b, 'cancel', 'b')] })], now: T0 });
      const claimed = await claimAll(2);
      const done = await store.finishJobs({
        transitions: claimed.map((j) => ({ to: 'succeeded' as const, id: j.id, token: j.leaseToken, result: j.id === a ? big : '"small"' })),
        now: T0 + 1,
        claim: { workerId: 'w1', tasks: ['email'], max: 1, leaseMs: LEASE, now: T0 + 1 },
      });
      const [next] = done.claimed;
      assert.equal(next.id, r.jobs[0].id);
      assert.deepEqual(
        next.dependencies?.map((d) => [d.depId, d.name, d.result]),
        [
          [a, 'a', big],
          [b, 'b', '"small"'],
        ],
      );
      assert.deepEqual(next.dependencies, await store.getDependencies({ jobIds: [next.id] }));
    });

    it('counts an edge once: a job waited for that failed and is retried does not release its dependents again', async () => {
      const a = await insert();
      const b = await insert({ task: 'report' });
      const r = await store.insertJobs({ jobs: [newJob({ after: [onId(a, 'run'), onId(b)] })], now: T0 });
      const waiting = r.jobs[0].id;
      const [ja] = await claimAll(1);
      assert.equal(ja.id, a);
      await fail(ja);
      assert.deepEqual([(await store.getJob({ id: waiting }))!.state, (await store.getJob({ id: waiting }))!.depsPending], ['waiting', 1]);
      await store.retryJob({ id: a, now: T0 + 2 });
      const [again] = await store.claimJobs({ workerId: 'w1', tasks: ['email'], max: 1, leaseMs: LEASE, now: T0 + 3 });
      assert.equal(again.id, a);
      const done = await succeed([again], T0 + 4);
      assert.deepEqual(done.followUps, [], 'the edge to the retried job was counted when it failed');
      assert.deepEqual([(await store.getJob({ id: waiting }))!.state, (await store.getJob({ id: waiting }))!.depsPending], ['waiting', 1]);
      // A job that starts waiting for it after the retry counts the edge when it finishes again.
      const later = (await store.insertJobs({ jobs: [newJob({ after: [onId(b)] })], now: T0 + 5 })).jobs[0].id;
      const [jb] = await store.claimJobs({ workerId: 'w1', tasks: ['report'], max: 1, leaseMs: LEASE, now: T0 + 6 });
      const released = await succeed([jb], T0 + 7);
      assert.deepEqual(released.followUps.map((j) => j.id).sort(), [waiting, later].sort());
    });

    it('settles dependents when what they wait for is cancelled or purged', async () => {
      const a = await insert();
      const b = await insert({ task: 'report' });
      const waits = await store.insertJobs({ jobs: [newJob({ after: [onId(a)] }), newJob({ task: 'report', after: [onId(b, 'run')] })], now: T0 });
      const cancelled = await store.cancelJob({ id: a, now: T0 + 1 });
      assert.deepEqual(
        cancelled.ended.map((e) => e.id),
        [waits.jobs[0].id],
      );
      const purged = await store.purgeJobs({ task: 'report', states: ['queued'], now: T0 + 2 });
      assert.deepEqual(
        purged.followUps.map((j) => j.id),
        [waits.jobs[1].id],
      );
      assert.equal(await store.getJob({ id: b }), null);
    });

    it('keeps a dependent waiting while what it waits for is retried after its worker died, and queues it once, after it succeeds', async () => {
      const a = await insert({ maxAttempts: 2 });
      const w = (await store.insertJobs({ jobs: [newJob({ after: [onId(a)] })], now: T0 })).jobs[0].id;
      const [first] = await claimAll();
      const reaped = await store.reapExpiredLeases({ now: T0 + LEASE + 1, limit: 10 });
      assert.deepEqual([reaped.requeued.length, reaped.ended.length, reaped.followUps.length], [1, 0, 0]);
      assert.equal(await stateOf(w), 'waiting');
      const late = await succeed([first], T0 + LEASE + 2);
      assert.equal(late.results[0].ok, false, 'the dead attempt cannot finish it');
      const [second] = await claimAll(10, T0 + LEASE + 3);
      assert.equal(second.id, a);
      const done = await succeed([second], T0 + LEASE + 4);
      assert.deepEqual(
        done.followUps.map((j) => j.id),
        [w],
      );
      const [dependent, ...none] = await claimAll(10, T0 + LEASE + 5);
      assert.deepEqual([dependent.id, none.length], [w, 0]);
      // On its last attempt a dead worker fails the job, and the dependent follows its policy.
      const c = await insert({ maxAttempts: 1 });
      const x = (await store.insertJobs({ jobs: [newJob({ after: [onId(c)] })], now: T0 })).jobs[0].id;
      await claimAll(1, T0 + LEASE + 6);
      const failed = await store.reapExpiredLeases({ now: T0 + 3 * LEASE, limit: 10 });
      assert.deepEqual(
        failed.ended.map((e) => [e.id, e.state]),
        [[x, 'cancelled']],
      );
    });

    it('fans in 10,000 edges: the join is queued when the last of them succeeds, not before', async () => {
      const n = 10_000;
      const jobs = Array.from({ length: n }, (_, i) => newJob({ step: `part-${i}` }));
      jobs.push(newJob({ task: 'report', step: 'join', after: jobs.map((_, i) => onIndex(i)) }));
      const r = await store.insertJobs({ jobs, batch: { title: 'fan-in', onFinish: null, flow: true }, now: T0 });
      const join = r.jobs[n].id;
      assert.equal((await store.getJob({ id: join }))!.depsPending, n);
      let released: string[] = [];
      for (let done = 0; done < n; ) {
        const claimed = await store.claimJobs({ workerId: 'w1', tasks: ['email'], max: 1000, leaseMs: LEASE, now: T0 + 1 });
        assert.ok(claimed.length > 0);
        released = (await succeed(claimed, T0 + 2)).followUps.map((j) => j.id);
        done += claimed.length;
        if (done < n) assert.deepEqual(released, [], `released after ${done}`);
      }
      assert.deepEqual(released, [join]);
      const deps = await store.getDependencies({ jobIds: [join] });
      assert.equal(deps.length, n);
      assert.ok(deps.every((d) => d.state === 'succeeded'));
    });

    it('loses no edge when dependents are submitted on two connections while what they wait for finishes', async () => {
      const other = await fixture.open();
      try {
        const deps = await Promise.all(Array.from({ length: 20 }, () => insert()));
        const claimed = await claimAll(20);
        const submits = [store, other].map((s, k) =>
          s.insertJobs({ jobs: deps.map((d) => newJob({ task: 'report', after: [onId(d)], origin: `p${k}` })), now: T0 + 1 }),
        );
        const finishing = claimed.map((j, i) => succeed([j], T0 + 1, i % 2 ? store : other));
        const [r1, r2] = await Promise.all(submits);
        await Promise.all(finishing);
        const ids = [...r1.jobs, ...r2.jobs].map((j) => j.id);
        const rows = await store.getJobs({ ids });
        assert.deepEqual(
          rows.map((x) => x.state),
          ids.map(() => 'queued'),
          'every dependent is queued once what it waits for has succeeded',
        );
        // Two producers sending the same flow with one key store it once.
        const submitKey = { key: 'flow:race', fingerprint: 'f', expiresAt: T0 + 60_000 };
        const flow = () => [newJob({ step: 'a' }), newJob({ step: 'b', after: [onIndex(0)] })];
        const both = await Promise.all(
          [store, other].map((s) => s.insertJobs({ jobs: flow(), batch: { title: null, onFinish: null, flow: true }, now: T0, submitKey })),
        );
        assert.equal(both.filter((x) => x.replayed === undefined).length, 1);
      } finally {
        await other.close();
      }
    });

    it('holds a unique key while waiting, and keeps a result that a waiting job needs from the pruner', async () => {
      const a = await insert();
      const w = (await store.insertJobs({ jobs: [newJob({ uniqueKey: 'k', after: [onId(a)] })], now: T0 })).jobs[0];
      const again = (await store.insertJobs({ jobs: [newJob({ uniqueKey: 'k' })], now: T0 })).jobs[0];
      assert.deepEqual([again.deduplicated, again.id, again.state], [true, w.id, 'waiting']);
      // A waits for B (run anyway): B's success must outlive retention until A has run.
      const b = await insert({ task: 'report' });
      const waitsForB = (await store.insertJobs({ jobs: [newJob({ task: 'report', after: [onId(b)] }), newJob({ after: [onId(b)] })], now: T0 })).jobs;
      const [jb] = await store.claimJobs({ workerId: 'w', tasks: ['report'], max: 1, leaseMs: LEASE, now: T0 });
      assert.equal(jb.id, b);
      await succeed([jb], T0 + 1);
      await store.pruneJobs({ now: T0 + 365 * 86_400_000, limit: 1000 });
      assert.ok(await store.getJob({ id: b }), 'kept while jobs that wait for it have not run');
      assert.equal((await store.getDependencies({ jobIds: [waitsForB[0].id] }))[0].result, `{"from":${b}}`);
    });
  });
}
