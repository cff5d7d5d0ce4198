import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  defineTask,
  InputTooLargeError,
  InvalidCursorError,
  InvalidIdError,
  InvalidInputError,
  InvalidOptionError,
  InvalidStateError,
  JobFailedError,
  JobNotFoundError,
  type Offload,
  Type,
  UnknownTaskError,
} from '../../src/index.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';

const email = defineTask('email.send', async (input: { to: string }) => ({ sent: input.to }));
const typed = defineTask('typed', { input: Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }) }, async (input) => input.n * 2);

async function jobCount(offload: Offload): Promise<number> {
  return (await offload.listJobs({ limit: 1000 })).jobs.length;
}

describe('producer API', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('returns a handle at once and the job reads back in the documented shape', async () => {
    t = await openTestOffload({ tasks: [email] });
    const handle = await t.offload.enqueue(email, { to: 'a@example.com' }, { priority: 3, origin: 'test' });
    assert.match(handle.id, /^\d+$/);
    assert.equal(handle.deduplicated, false);
    const job = await t.offload.getJob(handle.id);
    for (const key of [
      'id',
      'task',
      'state',
      'input',
      'result',
      'error',
      'attempt',
      'maxAttempts',
      'priority',
      'progress',
      'createdAt',
      'startedAt',
      'finishedAt',
    ]) {
      assert.ok(key in job, `job has ${key}`);
    }
    assert.deepEqual([job.task, job.state, job.priority, job.attempt, job.maxAttempts, job.origin], ['email.send', 'queued', 3, 0, 3, 'test']);
    assert.deepEqual(job.input, { to: 'a@example.com' });
    assert.equal(job.createdAt, new Date(t.clock.now()).toISOString());
  });

  it('stores a submission with an idempotency key once within the window, and refuses the key for other content', async () => {
    t = await openTestOffload({ tasks: [email] });
    const first = await t.offload.enqueue(email, { to: 'a' }, { idempotencyKey: 'welcome-42' });
    const again = await t.offload.enqueue(email, { to: 'a' }, { idempotencyKey: 'welcome-42' });
    assert.deepEqual([again.id, again.replayed, first.replayed], [first.id, true, false]);
    await assert.rejects(
      t.offload.enqueue(email, { to: 'b' }, { idempotencyKey: 'welcome-42' }),
      (err: Error & { code?: string }) => err.code === 'IDEMPOTENCY_KEY_REUSED',
    );
    const many = [
      { task: email, input: { to: 'c' } },
      { task: email, input: { to: 'd' } },
    ];
    const m1 = await t.offload.enqueueMany(many, { idempotencyKey: 'import-1' });
    const m2 = await t.offload.enqueueMany(many, { idempotencyKey: 'import-1' });
    assert.deepEqual(
      m2.map((h) => h.id),
      m1.map((h) => h.id),
    );
    const b1 = await t.offload.batch(many, { idempotencyKey: 'batch-1', title: 'b' });
    const b2 = await t.offload.batch(many, { idempotencyKey: 'batch-1', title: 'b' });
    assert.deepEqual([b2.id, b2.replayed], [b1.id, true]);
    assert.equal(await jobCount(t.offload), 5);
    // A day later the key is free: the same submission is new work.
    await t.clock.advance(24 * 60 * 60 * 1000);
    const later = await t.offload.enqueue(email, { to: 'a' }, { idempotencyKey: 'welcome-42' });
    assert.notEqual(later.id, first.id);
    await assert.rejects(t.offload.enqueue(email, null as never, { idempotencyKey: '' }), InvalidOptionError);
  });

  it('delays jobs by delayMs or runAt', async () => {
    t = await openTestOffload({ tasks: [email] });
    const a = await t.offload.enqueue(email, { to: 'x' }, { delayMs: 60_000 });
    const b = await t.offload.enqueue(email, { to: 'y' }, { runAt: new Date(t.clock.now() + 5000) });
    assert.equal((await a.status()).runAt, new Date(t.clock.now() + 60_000).toISOString());
    assert.equal((await b.status()).runAt, new Date(t.clock.now() + 5000).toISOString());
    await t.offload.work();
    await t.clock.advance(5000);
    assert.deepEqual(await b.result(), { sent: 'y' });
    assert.equal((await a.status()).state, 'queued');
    await t.clock.advance(55_000);
    assert.deepEqual(await a.result(), { sent: 'x' });
  });

  it('returns the existing job for a unique key, marked as deduplicated', async () => {
    t = await openTestOffload({ tasks: [email] });
    const first = await t.offload.enqueue(email, { to: 'a' }, { uniqueKey: 'welcome:42' });
    const second = await t.offload.enqueue(email, { to: 'a' }, { uniqueKey: 'welcome:42' });
    assert.equal(second.id, first.id);
    assert.equal(second.deduplicated, true);
    assert.equal(await jobCount(t.offload), 1);
  });

  it("runs a job in the foreground and rejects with the job's error", async () => {
    const boom = defineTask(
      'boom',
      async () => {
        throw new Error('kaput');
      },
      { maxAttempts: 1 },
    );
    t = await openTestOffload({ tasks: [email, boom] });
    await t.offload.work();
    assert.deepEqual(await t.offload.run(email, { to: 'b' }), { sent: 'b' });
    await assert.rejects(t.offload.run(boom, null), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.equal(err.code, 'JOB_FAILED');
      assert.equal(err.jobError.message, 'kaput');
      return true;
    });
  });

  it('submits many jobs in one transaction: one bad item, none written', async () => {
    t = await openTestOffload({ tasks: [email] });
    await assert.rejects(
      t.offload.enqueueMany([
        { task: email, input: { to: 'ok' } },
        { task: email, input: { to: 'also ok' }, options: { delayMs: -5 } },
      ]),
      InvalidOptionError,
    );
    assert.equal(await jobCount(t.offload), 0);
    const handles = await t.offload.enqueueMany([
      { task: email, input: { to: '1' } },
      { task: 'email.send', input: { to: '2' } },
    ]);
    assert.equal(handles.length, 2);
    assert.equal(await jobCount(t.offload), 2);
  });

  describe('bad input gets a named error and writes nothing', () => {
    const cases: [string, (o: Offload) => Promise<unknown>, new (...a: never[]) => Error, string][] = [
      ['unknown task', (o) => o.enqueue('no.such.task', {}), UnknownTaskError, 'UNKNOWN_TASK'],
      ['input that is not JSON (BigInt)', (o) => o.enqueue(email, { to: 1n } as never), InvalidInputError, 'INVALID_INPUT'],
      [
        'input that is not JSON (cycle)',
        (o) => {
          const c: Record<string, unknown> = {};
          c.self = c;
          return o.enqueue(email, c as never);
        },
        InvalidInputError,
        'INVALID_INPUT',
      ],
      ['input that is not JSON (function)', (o) => o.enqueue(email, (() => 1) as never), InvalidInputError, 'INVALID_INPUT'],
      ['input over the size limit', (o) => o.enqueue(email, { to: 'x'.repeat(2000) }), InputTooLargeError, 'INPUT_TOO_LARGE'],
      ['input failing the task schema', (o) => o.enqueue(typed, { n: -1 }), InvalidInputError, 'INVALID_INPUT'],
      ['input with an unknown field', (o) => o.enqueue(typed, { n: 1, extra: true } as never), InvalidInputError, 'INVALID_INPUT'],
      ['negative delay', (o) => o.enqueue(email, { to: 'x' }, { delayMs: -1 }), InvalidOptionError, 'INVALID_OPTION'],
      ['delay that is not a number', (o) => o.enqueue(email, { to: 'x' }, { delayMs: 'soon' as never }), InvalidOptionError, 'INVALID_OPTION'],
      ['runAt that is not a date', (o) => o.enqueue(email, { to: 'x' }, { runAt: 'tomorrow' }), InvalidOptionError, 'INVALID_OPTION'],
      ['both runAt and delayMs', (o) => o.enqueue(email, { to: 'x' }, { runAt: Date.now(), delayMs: 1 }), InvalidOptionError, 'INVALID_OPTION'],
      ['fractional priority', (o) => o.enqueue(email, { to: 'x' }, { priority: 1.5 }), InvalidOptionError, 'INVALID_OPTION'],
      ['empty unique key', (o) => o.enqueue(email, { to: 'x' }, { uniqueKey: '' }), InvalidOptionError, 'INVALID_OPTION'],
      ['zero maxAttempts', (o) => o.enqueue(email, { to: 'x' }, { maxAttempts: 0 }), InvalidOptionError, 'INVALID_OPTION'],
    ];
    for (const [name, act, type, code] of cases) {
      it(name, async () => {
        t = await openTestOffload({ tasks: [email, typed], maxInputBytes: 1000 });
        await assert.rejects(act(t.offload), (err: unknown) => {
          assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
          assert.equal((err as unknown as { code: string }).code, code);
          assert.ok((err as Error).message.length > 20, 'the message says what to do');
          return true;
        });
        assert.equal(await jobCount(t.offload), 0);
      });
    }

    it('unknown and malformed job ids', async () => {
      t = await openTestOffload({ tasks: [email] });
      await assert.rejects(t.offload.getJob('424242'), JobNotFoundError);
      await assert.rejects(t.offload.cancel('424242'), JobNotFoundError);
      await assert.rejects(t.offload.retry('424242'), JobNotFoundError);
      for (const bad of ['abc', '0', '-1', '1.5', '', '99999999999999999999', '1; DROP TABLE jobs']) {
        await assert.rejects(t.offload.getJob(bad), InvalidIdError, bad);
      }
      await assert.rejects(t.offload.listJobs({ cursor: 'garbage' }), InvalidCursorError);
    });
  });

  it('lists jobs with filters and cursors, and counts them', async () => {
    t = await openTestOffload({ tasks: [email, typed] });
    for (let i = 0; i < 7; i++) await t.offload.enqueue(email, { to: String(i) });
    await t.offload.enqueue(typed, { n: 1 });
    const page1 = await t.offload.listJobs({ task: 'email.send', limit: 3 });
    assert.equal(page1.jobs.length, 3);
    assert.ok(page1.nextCursor);
    const page2 = await t.offload.listJobs({ task: 'email.send', limit: 3, cursor: page1.nextCursor! });
    const page3 = await t.offload.listJobs({ task: 'email.send', limit: 3, cursor: page2.nextCursor! });
    assert.equal(page3.jobs.length, 1);
    assert.equal(page3.nextCursor, null);
    const ids = [...page1.jobs, ...page2.jobs, ...page3.jobs].map((j) => Number(j.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    assert.deepEqual(await t.offload.counts(), [
      { task: 'email.send', waiting: 0, queued: 7, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null },
      { task: 'typed', waiting: 0, queued: 1, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null },
    ]);
    await assert.rejects(t.offload.listJobs({ state: 'sleeping' as never }), InvalidOptionError);
  });

  it('purges, retries and cancels', async () => {
    const boom = defineTask(
      'boom',
      async () => {
        throw new Error('x');
      },
      { maxAttempts: 1 },
    );
    t = await openTestOffload({ tasks: [email, boom] });
    await t.offload.enqueue(email, { to: '1' });
    await t.offload.enqueue(email, { to: '2' });
    assert.equal(await t.offload.purge('email.send'), 2);
    await assert.rejects(t.offload.purge('nope'), UnknownTaskError);
    await t.offload.work();
    const failing = await t.offload.enqueue(boom, null);
    await assert.rejects(failing.result());
    const retried = await t.offload.retry(failing.id);
    assert.deepEqual([retried.state, retried.attempt], ['queued', 0]);
    await assert.rejects(failing.result());
    await assert.rejects(t.offload.cancel(failing.id), InvalidStateError);
    assert.equal(await t.offload.purge('boom', ['failed']), 1);
  });

  it('records progress reported by the handler', async () => {
    const steps = defineTask('steps', async (_input: null, ctx) => {
      for (let i = 1; i <= 4; i++) ctx.progress(i, 4, `step ${i}`);
      return 'ok';
    });
    t = await openTestOffload({ tasks: [steps] });
    const seen: number[] = [];
    t.offload.on('job:progress', (e) => seen.push(e.progress.done));
    await t.offload.work();
    const handle = await t.offload.enqueue(steps, null);
    await handle.result();
    // Progress reported faster than it is written is coalesced: the last value always lands.
    assert.equal(seen.at(-1), 4);
    assert.deepEqual((await handle.status()).progress, { done: 4, total: 4, message: 'step 4' });
  });

  it('knows tasks registered by another process, by name', async () => {
    t = await openTestOffload({ tasks: [email] });
    const producer = await t.another();
    const h = await producer.enqueue('email.send', { to: 'from elsewhere' });
    assert.equal((await t.offload.getJob(h.id)).task, 'email.send');
    await assert.rejects(producer.enqueue('email.typo', {}), UnknownTaskError);
  });
});
