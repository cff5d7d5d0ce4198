import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask, JobCancelledError, JobTimeoutError, LeaseLostError } from '../../src/index.js';
import { deferred, nextEvent, openTestOffload, type TestOffload } from '../helpers/offload.js';

describe('leases, heartbeats, timeouts and cancellation', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('keeps the lease of a long job alive with heartbeats', async () => {
    const release = deferred();
    const started = deferred();
    const slow = defineTask('slow', async () => {
      started.resolve();
      await release.promise;
      return 'finished';
    });
    t = await openTestOffload({ tasks: [slow] });
    await t.offload.work({ leaseMs: 30_000 });
    const handle = await t.offload.enqueue(slow, null);
    await started.promise;
    // Five minutes pass in heartbeat-sized steps; the rescuer runs all along.
    for (let i = 0; i < 30; i++) await t.clock.advance(10_000);
    const job = await handle.status();
    assert.equal(job.state, 'running');
    assert.equal(job.attempt, 1);
    assert.ok(Date.parse(job.leaseExpiresAt!) > t.clock.now());
    release.resolve();
    assert.equal(await handle.result(), 'finished');
  });

  it("puts a silent worker's job back within one lease and refuses its late result", async () => {
    const task = defineTask('work', async () => 'done by the live worker');
    t = await openTestOffload({ tasks: [task] });
    // A worker claims the job and then dies: it never heartbeats again.
    await t.offload.enqueue(task, null);
    const [dead] = await t.offload.claim({ tasks: ['work'], workerId: 'dead', leaseMs: 30_000 });
    const handle = await t.offload.handle(dead.id);
    await t.offload.work({ leaseMs: 30_000 });
    await t.clock.advance(29_000);
    assert.equal((await handle.status()).state, 'running', 'not reaped before the lease ends');
    await t.clock.advance(6_000);
    assert.equal(await handle.result(), 'done by the live worker');
    const job = await handle.status();
    assert.equal(job.attempt, 2);
    assert.equal(job.errors[0].code, 'LEASE_EXPIRED');
    await assert.rejects(t.offload.complete(dead.id, { leaseToken: dead.leaseToken, result: 'late' }), LeaseLostError);
    await assert.rejects(t.offload.heartbeat(dead.id, { leaseToken: dead.leaseToken }), LeaseLostError);
    await assert.rejects(t.offload.fail(dead.id, { leaseToken: dead.leaseToken, error: 'late' }), LeaseLostError);
    assert.equal((await handle.status()).result, 'done by the live worker');
  });

  it('answers a repeated complete or final fail with the same lease token as recorded, and refuses a different result', async () => {
    const task = defineTask('agent.work', async () => null);
    t = await openTestOffload({ tasks: [task] });
    const a = await t.offload.enqueue(task, null);
    const b = await t.offload.enqueue(task, null, { maxAttempts: 1 });
    const [ja, jb] = await t.offload.claim({ tasks: ['agent.work'], max: 2 });
    await t.offload.complete(ja.id, { leaseToken: ja.leaseToken, result: { pages: 3 } });
    // The first answer was lost (a timeout, a server killed after its commit): the agent sends it again.
    await t.offload.complete(ja.id, { leaseToken: ja.leaseToken, result: { pages: 3 } });
    await assert.rejects(t.offload.complete(ja.id, { leaseToken: ja.leaseToken, result: { pages: 4 } }), (err: LeaseLostError) => err.state === 'succeeded');
    assert.deepEqual((await a.status()).result, { pages: 3 });
    assert.deepEqual(await t.offload.fail(jb.id, { leaseToken: jb.leaseToken, error: 'broken' }), { state: 'failed', runAt: null });
    assert.deepEqual(await t.offload.fail(jb.id, { leaseToken: jb.leaseToken, error: 'broken' }), { state: 'failed', runAt: null });
    await assert.rejects(t.offload.complete(jb.id, { leaseToken: jb.leaseToken, result: 'late' }), (err: LeaseLostError) => err.state === 'failed');
    assert.equal((await b.status()).error?.message, 'broken');
  });

  it("aborts the handler's signal when the job times out, and retries it", async () => {
    let attempts = 0;
    const reasons: unknown[] = [];
    const hang = defineTask(
      'hang',
      async (_input: null, ctx) => {
        attempts++;
        if (attempts === 2) return 'second time lucky';
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          }),
        );
      },
      { timeoutMs: 5000, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 0 } },
    );
    t = await openTestOffload({ tasks: [hang] });
    await t.offload.work();
    const started = nextEvent(t.offload, 'job:started');
    const handle = await t.offload.enqueue(hang, null);
    await started;
    await t.clock.advance(4999);
    assert.equal(reasons.length, 0);
    await t.clock.advance(1);
    assert.equal(await handle.result(), 'second time lucky');
    assert.ok(reasons[0] instanceof JobTimeoutError);
    const job = await handle.status();
    assert.equal(job.errors[0].code, 'JOB_TIMEOUT');
  });

  it('cancelling a running job aborts its handler and it never ends up succeeded', async () => {
    const started = deferred();
    const aborted = deferred<unknown>();
    const stubborn = defineTask('stubborn', async (_input: null, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      started.resolve();
      await aborted.promise;
      return 'finished anyway';
    });
    t = await openTestOffload({ tasks: [stubborn] });
    await t.offload.work();
    const handle = await t.offload.enqueue(stubborn, null);
    await started.promise;
    const cancelled = await handle.cancel();
    assert.equal(cancelled.state, 'cancelled');
    assert.ok((await aborted.promise) instanceof JobCancelledError);
    await assert.rejects(handle.result(), JobCancelledError);
    // Let the handler's return be processed: the job stays cancelled.
    await t.clock.advance(0);
    assert.equal((await handle.status()).state, 'cancelled');
  });

  it('tells a handler in another process that its job was cancelled, at the next heartbeat', async () => {
    const started = deferred();
    const aborted = deferred<unknown>();
    const task = defineTask('remote', async (_input: null, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      started.resolve();
      await aborted.promise;
    });
    t = await openTestOffload({ tasks: [task] });
    const workerSide = await t.another({ tasks: [task] });
    await workerSide.work({ leaseMs: 30_000, heartbeatMs: 10_000 });
    const handle = await t.offload.enqueue(task, null);
    await started.promise;
    await t.offload.cancel(handle.id);
    await t.clock.advance(10_000);
    assert.ok((await aborted.promise) instanceof JobCancelledError);
  });

  it('cancels a queued job before it runs', async () => {
    let ran = false;
    const task = defineTask('never', async () => {
      ran = true;
    });
    t = await openTestOffload({ tasks: [task] });
    const handle = await t.offload.enqueue(task, null, { delayMs: 1000 });
    await handle.cancel();
    await t.offload.work();
    await t.clock.advance(2000);
    assert.equal(ran, false);
    assert.equal((await handle.status()).state, 'cancelled');
  });
});
