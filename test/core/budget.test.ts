/**
 * Time-budgeted worker runs, what `offload worker --for / --max-jobs / --until-idle` runs: the
 * worker stops claiming when its budget is spent, finishes what it holds (running handlers, up to
 * the shutdown timeout; jobs claimed ahead go back unstarted, the attempt not counted) and
 * `finished` resolves with why. Time is a ManualClock.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { defineTask, InvalidOptionError } from '../../src/index.js';
import type { GroupCommit } from '../../src/store/group-commit.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import type { WorkerBackend } from '../../src/worker/backend.js';
import { HOLD_MS } from '../../src/worker/claimed-ahead.js';
import { Fetcher } from '../../src/worker/fetcher.js';
import { deferred, openTestOffload, type TestOffload } from '../helpers/offload.js';

/** A task whose jobs with input ≥ 100 wait at a gate; the others return at once. */
function gatedTask(name: string) {
  const gate = deferred();
  const ran: number[] = [];
  const startWaiters: { n: number; resolve: () => void }[] = [];
  const task = defineTask(name, async (i: number) => {
    ran.push(i);
    for (const w of startWaiters.filter((w) => ran.length >= w.n)) w.resolve();
    if (i >= 100) await gate.promise;
    return i;
  });
  return {
    task,
    ran,
    open: () => gate.resolve(),
    /** Resolves once `n` handlers have started. */
    started: (n: number) => (ran.length >= n ? Promise.resolve() : new Promise<void>((resolve) => startWaiters.push({ n, resolve }))),
  };
}

async function counts(t: TestOffload, task?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of await t.offload.store.countJobs({})) if (!task || c.task === task) out[c.state] = (out[c.state] ?? 0) + c.count;
  return out;
}

/** Counts the claims of the store: each job handed to a worker is one 'job:started'. */
function countClaims(t: TestOffload): { readonly n: number } {
  const seen = { n: 0 };
  t.offload.on('job:started', () => {
    seen.n++;
  });
  return seen;
}

async function everyQueuedUntouched(t: TestOffload): Promise<void> {
  const queued = await t.offload.store.listJobs({ state: 'queued', limit: 1000 });
  assert.ok(
    queued.every((j) => j.attempt === 0),
    'no attempt counted on the jobs left queued',
  );
}

describe('worker: budgeted runs', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  describe('maxJobs', () => {
    it('runs that many jobs, then stops; it never claims more, and the rest stay queued', async () => {
      const g = gatedTask('budget.fast');
      t = await openTestOffload({ tasks: [g.task] });
      const claims = countClaims(t);
      await t.offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: g.task, input: i })));
      const worker = await t.offload.work({ concurrency: 2, maxJobs: 3 });
      assert.deepEqual(await worker.finished, { reason: 'max-jobs', started: 3 });
      assert.equal(worker.running, false);
      assert.equal(claims.n, 3);
      assert.deepEqual(await counts(t), { succeeded: 3, queued: 7 });
      await everyQueuedUntouched(t);
    });

    it('caps what it claims ahead by what is left of the budget; a held job given back unstarted gives its place back', async () => {
      const g = gatedTask('budget.ahead');
      t = await openTestOffload({ tasks: [g.task] });
      const claims = countClaims(t);
      const worker = await t.offload.work({ concurrency: 2, maxJobs: 15 });
      // Ten fast jobs in one 10 ms window: unbudgeted, the worker would now hold ten ahead.
      await t.offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: g.task, input: i })));
      await g.started(10);
      await t.offload.commits.drain();
      await t.clock.advance(10);
      await t.offload.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ task: g.task, input: 100 + i })));
      await g.started(12);
      await t.offload.commits.drain();
      assert.deepEqual(await counts(t), { succeeded: 10, running: 5, queued: 25 }, 'two running, three held: fifteen in all');
      assert.equal(claims.n, 15);

      // The three held go back unstarted: the budget has room for three more.
      await t.clock.advance(HOLD_MS);
      await t.offload.commits.drain();
      assert.deepEqual(await counts(t), { succeeded: 10, running: 2, queued: 28 });
      await everyQueuedUntouched(t);

      g.open();
      assert.deepEqual(await worker.finished, { reason: 'max-jobs', started: 15 });
      assert.equal(g.ran.length, 15, 'fifteen handlers ran');
      assert.deepEqual(await counts(t), { succeeded: 15, queued: 25 });
      assert.equal(claims.n, 18, 'the three given back were claimed again');
      await everyQueuedUntouched(t);
    });

    it('lets a job finish however long it takes once the budget is spent (no shutdown timeout)', async () => {
      const g = gatedTask('budget.slow');
      t = await openTestOffload({ tasks: [g.task] });
      const worker = await t.offload.work({ concurrency: 1, maxJobs: 1, shutdownTimeoutMs: 1000 });
      const job = await t.offload.enqueue(g.task, 100);
      await g.started(1);
      await t.clock.advance(60_000);
      assert.equal((await job.status()).state, 'running');
      g.open();
      assert.deepEqual(await worker.finished, { reason: 'max-jobs', started: 1 });
      assert.equal((await job.status()).state, 'succeeded');
    });
  });

  describe('runForMs', () => {
    it('stops claiming when the time is up; the running handler finishes, jobs held ahead go back unstarted', async () => {
      const g = gatedTask('budget.timed');
      t = await openTestOffload({ tasks: [g.task] });
      const claims = countClaims(t);
      const worker = await t.offload.work({ concurrency: 1, runForMs: 60_000, shutdownTimeoutMs: 30_000 });
      // Fast jobs first, so the worker claims ahead; then one that holds its slot.
      await t.offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: g.task, input: i })));
      await g.started(10);
      await t.offload.commits.drain();
      await t.clock.advance(10);
      await t.offload.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ task: g.task, input: 100 + i })));
      await g.started(11);
      await t.offload.commits.drain();
      const held = (await counts(t)).running - 1;
      assert.ok(held > 0, 'jobs are held ahead');

      await t.clock.advance(60_000 - 10);
      await t.offload.commits.drain();
      assert.deepEqual(await counts(t), { succeeded: 10, running: 1, queued: 4 }, 'the held jobs went back at once');
      await t.offload.enqueue(g.task, 1);
      g.open();
      assert.deepEqual(await worker.finished, { reason: 'time', started: 11 });
      assert.deepEqual(await counts(t), { succeeded: 11, queued: 5 }, 'nothing claimed after the time was up');
      assert.equal(claims.n, 11 + held);
      await everyQueuedUntouched(t);
    });

    it('releases a handler still running at the shutdown timeout, the attempt not counted', async () => {
      const g = gatedTask('budget.stuck');
      t = await openTestOffload({ tasks: [g.task] });
      const worker = await t.offload.work({ runForMs: 1000, shutdownTimeoutMs: 5000 });
      const job = await t.offload.enqueue(g.task, 100);
      await g.started(1);
      await t.clock.advance(1000);
      assert.equal((await job.status()).state, 'running', 'given the shutdown timeout');
      await t.clock.advance(5000);
      assert.deepEqual(await worker.finished, { reason: 'time', started: 1 });
      const after = await job.status();
      assert.deepEqual([after.state, after.attempt], ['queued', 0]);
      g.open();
    });
  });

  describe('untilIdle', () => {
    it('runs what is runnable, follow-ups included, then stops; delayed jobs and suspended tasks wait for the next run', async () => {
      const chained: number[] = [];
      const chain = defineTask('budget.chain', async (n: number) => {
        chained.push(n);
        if (n < 3) await t.offload.enqueue('budget.chain', n + 1);
        return n;
      });
      const paused = defineTask('budget.paused', async () => 'ran');
      t = await openTestOffload({ tasks: [chain, paused] });
      await t.offload.enqueue(chain, 1);
      await t.offload.enqueue(chain, 10, { delayMs: 60_000 });
      await t.offload.enqueue(paused, null);
      await t.offload.suspend(paused.name, 60_000);
      const worker = await t.offload.work({ untilIdle: true });
      assert.deepEqual(await worker.finished, { reason: 'idle', started: 3 });
      assert.deepEqual(chained, [1, 2, 3]);
      assert.deepEqual(await counts(t, chain.name), { succeeded: 3, queued: 1 });
      assert.deepEqual(await counts(t, paused.name), { queued: 1 });
    });

    it('stops at once on an empty queue', async () => {
      const g = gatedTask('budget.none');
      t = await openTestOffload({ tasks: [g.task] });
      const worker = await t.offload.work({ untilIdle: true });
      assert.deepEqual(await worker.finished, { reason: 'idle', started: 0 });
    });

    it('with maxJobs, whichever comes first', async () => {
      const g = gatedTask('budget.both');
      t = await openTestOffload({ tasks: [g.task] });
      await t.offload.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ task: g.task, input: i })));
      const first = await t.offload.work({ untilIdle: true, maxJobs: 10 });
      assert.deepEqual(await first.finished, { reason: 'idle', started: 3 });
      await t.offload.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ task: g.task, input: i })));
      const second = await t.offload.work({ untilIdle: true, maxJobs: 2 });
      assert.deepEqual(await second.finished, { reason: 'max-jobs', started: 2 });
      assert.deepEqual(await counts(t), { succeeded: 5, queued: 1 });
    });
  });

  it('stop() during a budgeted run ends it as before; finished says stopped', async () => {
    const g = gatedTask('budget.stopped');
    t = await openTestOffload({ tasks: [g.task] });
    const worker = await t.offload.work({ maxJobs: 5, runForMs: 60_000 });
    const job = await t.offload.enqueue(g.task, 100);
    await g.started(1);
    const stopping = worker.stop();
    g.open();
    await stopping;
    assert.deepEqual(await worker.finished, { reason: 'stopped', started: 1 });
    assert.equal((await job.status()).state, 'succeeded');
  });

  it('refuses budgets that are not whole numbers ≥ 1', async () => {
    const g = gatedTask('budget.invalid');
    t = await openTestOffload({ tasks: [g.task] });
    for (const opts of [
      { maxJobs: 0 },
      { maxJobs: 1.5 },
      { runForMs: 0 },
      { runForMs: -5 },
      { runForMs: 2 ** 31 },
      { untilIdle: 'yes' as unknown as boolean },
    ]) {
      await assert.rejects(t.offload.work(opts), (err: unknown) => err instanceof InvalidOptionError, JSON.stringify(opts));
    }
  });
});

describe('fetcher: when a claim says nothing is runnable', () => {
  it('an empty answer to a claim overtaken by a wake-up says nothing; the claim after it decides', async () => {
    const answers: ((jobs: ClaimedJob[]) => void)[] = [];
    // Lets the fetcher's promise reactions and immediates run.
    const asked = async () => {
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    const commit = { pending: 0, claim: () => new Promise<ClaimedJob[]>((resolve) => answers.push(resolve)) } as unknown as GroupCommit;
    const backend = { wakeups: 'events', subscribe: () => () => undefined, nextRunAt: async () => null } as unknown as WorkerBackend;
    let noneRunnable = 0;
    const fetcher = new Fetcher({
      backend,
      commit,
      clock: new ManualClock(),
      logger: silentLogger,
      workerId: 'w',
      tasks: ['t'],
      leaseMs: 30_000,
      pollMs: 5000,
      freeSlots: () => 1,
      claimsWait: false,
      beforeFirstClaim: async () => undefined,
      onClaimed: () => undefined,
      onNoneRunnable: () => {
        noneRunnable++;
      },
      onCancelled: () => undefined,
    });
    await fetcher.start();
    await asked();
    assert.equal(answers.length, 1, 'the first claim is out');
    fetcher.soon(); // a job was enqueued while it ran: its empty answer may predate the job
    answers.shift()!([]);
    await asked();
    assert.equal(noneRunnable, 0);
    assert.equal(answers.length, 1, 'another claim follows');
    answers.shift()!([]);
    await asked();
    assert.equal(noneRunnable, 1, 'nothing overtook this one');
    fetcher.stop();
  });
});
