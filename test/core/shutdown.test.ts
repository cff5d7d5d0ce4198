import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask } from '../../src/index.js';
import { deferred, openTestOffload, type TestOffload } from '../helpers/offload.js';

describe('graceful shutdown', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('lets running jobs finish before the deadline', async () => {
    const started = deferred();
    const release = deferred();
    const task = defineTask('finishes', async () => {
      started.resolve();
      await release.promise;
      return 'ok';
    });
    t = await openTestOffload({ tasks: [task] });
    const worker = await t.offload.work({ shutdownTimeoutMs: 10_000 });
    const handle = await t.offload.enqueue(task, null);
    await started.promise;
    const stopping = worker.stop();
    await t.clock.advance(5000);
    release.resolve();
    await stopping;
    const job = await handle.status();
    assert.deepEqual([job.state, job.result], ['succeeded', 'ok']);
  });

  it('releases jobs still running at the deadline at once, without counting the attempt', async () => {
    const started = deferred();
    let aborted: unknown;
    const task = defineTask('stuck', async (_input: null, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        aborted = ctx.signal.reason;
      });
      started.resolve();
      await new Promise(() => undefined); // never finishes, ignores the signal
    });
    t = await openTestOffload({ tasks: [task] });
    const worker = await t.offload.work({ shutdownTimeoutMs: 10_000, leaseMs: 30_000 });
    const handle = await t.offload.enqueue(task, null);
    await started.promise;
    const stopping = worker.stop();
    await t.clock.advance(10_000);
    await stopping;
    const job = await handle.status();
    assert.equal(job.state, 'queued', 'released now, not after the 30 s lease');
    assert.equal(job.attempt, 0);
    assert.equal(job.runAt, new Date(t.clock.now()).toISOString());
    assert.equal((aborted as { code?: string }).code, 'SHUTDOWN');
    // Another worker takes it straight away.
    const again = deferred();
    const other = await t.another({
      tasks: [
        defineTask('stuck', async () => {
          again.resolve();
        }),
      ],
    });
    await other.work();
    await again.promise;
  });

  it('stops claiming as soon as it is asked to stop', async () => {
    let runs = 0;
    const task = defineTask('count', async () => {
      runs++;
    });
    t = await openTestOffload({ tasks: [task] });
    const worker = await t.offload.work();
    await worker.stop();
    await t.offload.enqueue(task, null);
    await t.clock.advance(60_000);
    assert.equal(runs, 0);
    assert.equal((await t.offload.store.listWorkers({})).length, 0, 'the worker record is removed');
  });

  it('stop is safe before start and twice', async () => {
    const task = defineTask('noop', async () => undefined);
    t = await openTestOffload({ tasks: [task] });
    const worker = await t.offload.work();
    await Promise.all([worker.stop(), worker.stop()]);
    await worker.stop();
    await assert.rejects(worker.start(), /stopped/);
  });
});
