import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTask, RetryLater, retryLater } from '../../src/index.js';
import { runTask } from '../../src/testing/index.js';

describe('offload/testing', () => {
  it('runTask runs a handler inline and records its result and progress', async () => {
    const task = defineTask('t.sum', async (input: number[], ctx) => {
      ctx.progress(1, 2, 'half');
      ctx.progress(2, 2);
      return input.reduce((a, b) => a + b, 0);
    });
    const run = await runTask(task, [1, 2, 3]);
    assert.equal(run.result, 6);
    assert.equal(run.thrown, undefined);
    assert.deepEqual(run.progress, [
      { done: 1, total: 2, message: 'half' },
      { done: 2, total: 2 },
    ]);
  });

  it('runTask reports what the handler threw, outcomes included, and can abort its signal', async () => {
    const later = defineTask('t.later', async (_: null, ctx) => {
      if (ctx.job.attempt < 3) throw retryLater(1000);
      return 'third time';
    });
    assert.ok((await runTask(later, null)).thrown instanceof RetryLater);
    assert.equal((await runTask(later, null, { attempt: 3 })).result, 'third time');
    const careful = defineTask(
      't.careful',
      async (_: null, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    );
    assert.equal((await runTask(careful, null, { abort: new Error('stop') })).thrown instanceof Error, true);
  });
});
