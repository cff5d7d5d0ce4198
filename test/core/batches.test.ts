import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask, permanent } from '../../src/index.js';
import { nextEvent, openTestOffload, type TestOffload } from '../helpers/offload.js';

describe('batches', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('runs a foreground batch: one call that returns whether every job succeeded, with the failures listed', async () => {
    const square = defineTask('square', async (n: number) => {
      if (n < 0) throw permanent(Object.assign(new Error(`negative: ${n}`), { code: 'NEGATIVE' }));
      return n * n;
    });
    t = await openTestOffload({ tasks: [square] });
    await t.offload.work({ concurrency: 4 });
    const good = await t.offload.runBatch([1, 2, 3].map((n) => ({ task: square, input: n })));
    assert.deepEqual([good.ok, good.succeeded, good.failures], [true, 3, []]);
    const bad = await t.offload.runBatch(
      [1, -2, 3, -4].map((n) => ({ task: square, input: n })),
      { title: 'mixed' },
    );
    assert.deepEqual([bad.ok, bad.succeeded, bad.failed, bad.title], [false, 2, 2, 'mixed']);
    assert.deepEqual(
      bad.failures.map((f) => [f.task, f.state, f.error?.message]),
      [
        ['square', 'failed', 'negative: -2'],
        ['square', 'failed', 'negative: -4'],
      ],
    );
    const list = await t.offload.listJobs({ batchId: bad.id, state: 'failed' });
    assert.deepEqual(bad.failures.map((f) => f.id).sort(), list.jobs.map((j) => j.id).sort());
  });

  it('lists a cancelled job of a batch among its failures, and a wait that ends first is WAIT_TIMEOUT for the batch', async () => {
    const square = defineTask('square', async (n: number) => n * n);
    t = await openTestOffload({ tasks: [square] });
    const batch = await t.offload.batch([1, 2].map((n) => ({ task: square, input: n })));
    const waiting = assert.rejects(batch.result({ timeoutMs: 1000 }), { code: 'WAIT_TIMEOUT', message: /^Batch \d+ did not finish within 1000 ms/ });
    await t.clock.advance(1000);
    await waiting;
    await t.offload.cancel(batch.jobs[0].id);
    await t.offload.work();
    const r = await batch.result();
    assert.deepEqual([r.ok, r.cancelled, r.failures.map((f) => [f.id, f.state, f.error])], [false, 1, [[batch.jobs[0].id, 'cancelled', null]]]);
  });

  it('waits for every job and enqueues onFinish exactly once', async () => {
    const square = defineTask('square', async (n: number) => {
      if (n < 0) throw permanent(new Error('negative'));
      return n * n;
    });
    const finishes: unknown[] = [];
    const done = defineTask('batch.done', async (input: unknown) => {
      finishes.push(input);
    });
    t = await openTestOffload({ tasks: [square, done] });
    const batch = await t.offload.batch(
      [1, 2, 3, -1].map((n) => ({ task: square, input: n })),
      { title: 'squares', onFinish: { task: done, input: { notify: 'ops@example.com' } } },
    );
    assert.equal(batch.jobs.length, 4);
    const before = await batch.status();
    assert.deepEqual([before.title, before.state, before.total, before.pending], ['squares', 'running', 4, 4]);
    const finished = nextEvent(t.offload, 'job:succeeded', (e) => e.task === 'batch.done');
    await t.offload.work({ concurrency: 4 });
    const outcome = await batch.wait();
    assert.deepEqual(outcome, { id: batch.id, title: 'squares', ok: false, total: 4, succeeded: 3, failed: 1, cancelled: 0 });
    await finished;
    assert.equal(finishes.length, 1);
    assert.deepEqual(finishes[0], { batch: outcome, input: { notify: 'ops@example.com' } });
    const after = await batch.status();
    assert.deepEqual([after.state, after.pending, after.ok], ['finished', 0, false]);
    assert.ok(after.onFinishJobId);
    const list = await t.offload.listJobs({ batchId: batch.id });
    assert.equal(list.jobs.length, 4);
  });

  it('resolves wait() for a batch finished by another process', async () => {
    const noop = defineTask('noop', async () => 'x');
    t = await openTestOffload({ tasks: [noop] });
    const workerSide = await t.another({ tasks: [noop] });
    const batch = await t.offload.batch([
      { task: noop, input: 1 },
      { task: noop, input: 2 },
    ]);
    await workerSide.work();
    const outcome = await batch.wait();
    assert.equal(outcome.ok, true);
    assert.equal(outcome.succeeded, 2);
  });

  it('an empty batch is finished at once', async () => {
    const noop = defineTask('noop', async () => undefined);
    t = await openTestOffload({ tasks: [noop] });
    const batch = await t.offload.batch([]);
    assert.deepEqual(await batch.wait(), { id: batch.id, title: null, ok: true, total: 0, succeeded: 0, failed: 0, cancelled: 0 });
  });
});
