/**
 * Rate limits and debounce on the injected clock: at most N starts in any window of a task (or of
 * a key tasks share), across workers; jobs over the limit wait and start when the window has
 * room; a debounced submit replaces the queued job's input. Runs on SQLite, and on PostgreSQL
 * from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask } from '../../src/index.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';

/** The most starts in any window of `periodMs` (closed on the left, open on the right). */
function busiestWindow(starts: number[], periodMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j] < sorted[i] + periodMs; j++) n++;
    most = Math.max(most, n);
  }
  return most;
}

describe('rate limits', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('starts at most `limit` jobs in any window; the rest wait queued and start as the window moves', async () => {
    const starts: number[] = [];
    const call = defineTask('api.call', async () => starts.push(t.clock.now()), { rateLimit: { limit: 3, periodMs: 1000 } });
    t = await openTestOffload({ tasks: [call] });
    await t.offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task: call, input: i })));
    await t.offload.work({ concurrency: 10 });
    await t.clock.advance(1);
    assert.equal(starts.length, 3);
    const [counts] = await t.offload.counts();
    assert.deepEqual([counts.queued, counts.failed], [7, 0], 'over the limit, jobs wait; none fails');
    await t.clock.advance(998);
    assert.equal(starts.length, 3, 'not before the window has room');
    await t.clock.advance(1);
    assert.equal(starts.length, 6, 'claimed as soon as it has');
    await t.clock.advance(2000);
    assert.equal(starts.length, 10);
    assert.equal(busiestWindow(starts, 1000), 3);
  });

  it('holds across every worker on the store, and tasks naming one key share it', async () => {
    const starts: number[] = [];
    const settings = { rateLimit: { limit: 4, periodMs: 1000, key: 'upstream-api' } };
    const read = defineTask('upstream.read', async () => starts.push(t.clock.now()), settings);
    const write = defineTask('upstream.write', async () => starts.push(t.clock.now()), settings);
    t = await openTestOffload({ tasks: [read, write] });
    const other = await t.another({ tasks: [read, write] });
    await t.offload.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ task: i % 2 ? read : write, input: i })));
    await t.offload.work({ concurrency: 5 });
    await other.work({ concurrency: 5 });
    for (let ms = 0; ms < 3500; ms += 250) await t.clock.advance(250);
    assert.equal(starts.length, 12);
    assert.equal(busiestWindow(starts, 1000), 4, 'four starts per second between the two tasks and the two workers');
  });

  it('wakes a worker for a limited job whose window opens, with other delayed work in between', async () => {
    const starts: string[] = [];
    const call = defineTask('api.call', async (input: string) => starts.push(input), { rateLimit: { limit: 1, periodMs: 1000 } });
    t = await openTestOffload({ tasks: [call] });
    await t.offload.work({ concurrency: 2, pollMs: 60_000 });
    await t.offload.enqueue(call, 'a');
    await t.offload.enqueue(call, 'b');
    await t.offload.enqueue(call, 'later', { delayMs: 1500 });
    await t.clock.advance(1);
    assert.deepEqual(starts, ['a']);
    await t.clock.advance(1000);
    assert.deepEqual(starts, ['a', 'b'], 'at the window, without a poll');
    await t.clock.advance(1000);
    assert.deepEqual(starts, ['a', 'b', 'later']);
  });

  it('refuses a limit of 0 and other bad limits when the task is defined', () => {
    assert.throws(() => defineTask('x', async () => null, { rateLimit: { limit: 0, periodMs: 1000 } }), {
      code: 'INVALID_TASK',
      message: /rateLimit\.limit must be an integer ≥ 1/,
    });
    assert.throws(() => defineTask('x', async () => null, { rateLimit: { limit: 1, periodMs: 0 } }), /rateLimit\.periodMs must be an integer from 1/);
    assert.throws(() => defineTask('x', async () => null, { rateLimit: { limit: 1, periodMs: 10, key: '' } }), /rateLimit\.key must be a string/);
  });
});

describe('debounce', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('runs a burst of submits once, with the last input, debounceMs after the last one', async () => {
    const seen: unknown[] = [];
    const reindex = defineTask('doc.reindex', async (input: { rev: number }) => seen.push(input.rev));
    t = await openTestOffload({ tasks: [reindex] });
    await t.offload.work();
    const first = await t.offload.enqueue(reindex, { rev: 1 }, { uniqueKey: 'doc-7', debounceMs: 1000 });
    await t.clock.advance(600);
    const second = await t.offload.enqueue(reindex, { rev: 2 }, { uniqueKey: 'doc-7', debounceMs: 1000 });
    assert.equal(second.id, first.id, 'the queued job took the new input; no job was added');
    assert.equal(second.deduplicated, true);
    await t.clock.advance(999);
    assert.deepEqual(seen, [], 'the wait started again at the second submit');
    await t.clock.advance(1);
    assert.deepEqual(seen, [2]);
    const job = await t.offload.getJob(first.id);
    assert.deepEqual([job.state, job.input], ['succeeded', { rev: 2 }]);
    // Once it has run, the next submit makes a new job.
    const third = await t.offload.enqueue(reindex, { rev: 3 }, { uniqueKey: 'doc-7', debounceMs: 1000 });
    assert.notEqual(third.id, first.id);
  });

  it('leaves a running holder alone, and refuses debounceMs without a unique key or with a run time', async () => {
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      const slow = defineTask('slow', () => {
        resolve();
        return new Promise<void>((done) => {
          release = done;
        });
      });
      void openTestOffload({ tasks: [slow] }).then(async (opened) => {
        t = opened;
        await t.offload.work();
        await t.offload.enqueue('slow', 1, { uniqueKey: 'k' });
      });
    });
    await started;
    const again = await t.offload.enqueue('slow', 2, { uniqueKey: 'k', debounceMs: 500 });
    assert.deepEqual([again.deduplicated, again.state], [true, 'running'], 'a running job keeps its input');
    assert.deepEqual((await t.offload.getJob(again.id)).input, 1);
    release();
    await assert.rejects(t.offload.enqueue('slow', 3, { debounceMs: 500 }), { code: 'INVALID_OPTION', message: /needs a uniqueKey/ });
    await assert.rejects(t.offload.enqueue('slow', 3, { uniqueKey: 'j', debounceMs: 500, delayMs: 10 }), /without runAt or delayMs/);
    await assert.rejects(t.offload.enqueue('slow', 3, { uniqueKey: 'j', debounceMs: 0 }), /debounceMs.*must be an integer from 1/);
  });
});
