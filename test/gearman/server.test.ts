/**
 * The Gearman server's semantics over real sockets, with raw packets: what gearmand answers
 * (../shared/reference/gearman.md), mapped onto durable Offload jobs. Time is a ManualClock.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { jobToJson } from '../../src/core/job.js';
import { defineTask } from '../../src/index.js';
import { eventually } from '../helpers/eventually.js';
import { gearmanWorker, grabJob, idOf, type RawPeer, startTestGearman, type TestGearman } from '../helpers/gearman.js';

const worker = gearmanWorker;

const grab = grabJob;

async function submit(
  c: RawPeer,
  type: 'SUBMIT_JOB' | 'SUBMIT_JOB_BG' | 'SUBMIT_JOB_HIGH_BG' | 'SUBMIT_JOB_LOW_BG' | 'SUBMIT_JOB_HIGH' | 'SUBMIT_JOB_LOW',
  fn: string,
  unique: string,
  data: string | Buffer,
): Promise<string> {
  c.send(type, fn, unique, data);
  return (await c.expect('JOB_CREATED'))[0];
}

/** Everything the server will do for what was sent so far has been done. */
async function settled(t: TestGearman, ...peers: RawPeer[]): Promise<void> {
  await t.clock.advance(0);
  for (const p of peers) assert.deepEqual(await p.sync(), [], 'nothing unexpected arrived');
}

describe('gearman server', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('answers pipelined submits exactly once each, in order, an ERROR counting as the answer', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const frames: Buffer[] = [];
    const expected: (string | null)[] = [];
    const { encodePacket } = await import('../../src/gearman/codec.js');
    for (let i = 0; i < 60; i++) {
      if (i % 20 === 7) {
        frames.push(encodePacket('req', 7, ['bad name!', '', `w${i}`]));
        expected.push(null);
      } else if (i % 20 === 13) {
        frames.push(encodePacket('req', 35, ['f', '', '1', '2', '3', '4', '5', `w${i}`])); // SUBMIT_JOB_SCHED
        expected.push(null);
      } else {
        frames.push(encodePacket('req', i % 2 ? 18 : 7, ['pipe', '', `w${i}`]));
        expected.push(`w${i}`);
      }
    }
    c.write(Buffer.concat(frames));
    for (const want of expected) {
      const r = await c.next();
      assert.equal(r.kind, 'packet');
      if (want === null) {
        assert.equal(r.kind === 'packet' && r.name, 'ERROR');
        continue;
      }
      assert.ok(r.kind === 'packet' && r.name === 'JOB_CREATED', JSON.stringify(r));
      const job = await t.offload.getJob(idOf(r.text[0]));
      assert.deepEqual(job.input, Buffer.from(want));
    }
    await settled(t, c);
  });

  it('answers SUBMIT_JOB_SCHED, ALL_YOURS and server-only packets as gearmand does, and keeps the connection', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    c.send('SUBMIT_JOB_SCHED', 'f', '', '1', '2', '3', '4', '5', 'x');
    assert.deepEqual(await c.expect('ERROR'), ['INVALID_COMMAND', 'Command not expected']);
    c.send('ALL_YOURS');
    assert.deepEqual(await c.expect('ERROR'), ['INVALID_COMMAND', 'Command not expected']);
    c.send('NOOP');
    assert.deepEqual(await c.expect('ERROR'), ['INVALID_COMMAND', 'Command not expected']);
    c.send('ECHO_REQ', Buffer.from([0, 1, 0, 2]));
    assert.deepEqual(await c.expect('ECHO_RES'), ['\0\x01\0\x02']);
    c.send('OPTION_REQ', 'nonsense');
    assert.deepEqual(await c.expect('ERROR'), ['UNKNOWN_OPTION', 'Server does not recognize given option']);
    c.send('OPTION_REQ', 'Exceptions');
    assert.deepEqual(await c.expect('OPTION_RES'), ['Exceptions']);
  });

  it('stores a Gearman job as an ordinary Offload job with its exact bytes', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const handle = await submit(c, 'SUBMIT_JOB_HIGH_BG', 'images.resize', 'img-1', bytes);
    assert.match(handle, /^H:test:\d+$/);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.task, job.state, job.uniqueKey, job.priority, job.attempt, job.maxAttempts], ['images.resize', 'queued', 'img-1', 1, 0, 3]);
    assert.deepEqual(job.input, bytes);
    assert.match(job.origin!, /^gearman:127\.0\.0\.1$/);
    assert.deepEqual(jobToJson(job).input, { $base64: bytes.toString('base64') });
    const counts = await t.offload.counts();
    assert.deepEqual(
      counts.find((c) => c.task === 'images.resize'),
      { task: 'images.resize', waiting: 0, queued: 1, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null },
    );
  });

  it('coalesces on (function, unique) while queued or running: "-" on the workload, never on an empty unique', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const a = await submit(c, 'SUBMIT_JOB_BG', 'f', 'u1', 'one');
    assert.equal(await submit(c, 'SUBMIT_JOB_LOW_BG', 'f', 'u1', 'ignored'), a, 'same function and unique');
    assert.notEqual(await submit(c, 'SUBMIT_JOB_BG', 'g', 'u1', 'one'), a, 'another function');
    const d1 = await submit(c, 'SUBMIT_JOB_BG', 'f', '-', 'dash-data');
    assert.equal(await submit(c, 'SUBMIT_JOB_BG', 'f', '-', 'dash-data'), d1, '"-" coalesces on identical workloads');
    assert.notEqual(await submit(c, 'SUBMIT_JOB_BG', 'f', '-', 'other-data'), d1);
    assert.notEqual(await submit(c, 'SUBMIT_JOB_BG', 'f', '-', ''), await submit(c, 'SUBMIT_JOB_BG', 'f', '-', ''), '"-" with no workload never coalesces');
    assert.notEqual(await submit(c, 'SUBMIT_JOB_BG', 'f', '', 'same'), await submit(c, 'SUBMIT_JOB_BG', 'f', '', 'same'), 'an empty unique never coalesces');
    assert.deepEqual((await t.offload.getJob(idOf(a))).input, Buffer.from('one'));

    // Running jobs still coalesce, and a foreground client may attach to a background job.
    const w = await worker(t, 'f');
    const [handle] = await grab(w);
    assert.equal(handle, a);
    c.send('SUBMIT_JOB', 'f', 'u1', 'x');
    assert.deepEqual(await c.expect('JOB_CREATED'), [a]);
    w.send('WORK_COMPLETE', a, 'done');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [a, 'done']);
    assert.notEqual(await submit(c, 'SUBMIT_JOB_BG', 'f', 'u1', 'again'), a, 'a finished job no longer holds its unique');

    c.send('SUBMIT_JOB_BG', 'f', 'u'.repeat(65), 'x');
    assert.deepEqual(await c.expect('ERROR'), ['ARGUMENT_TOO_LARGE', 'Unique value too large']);
  });

  it('hands out high before normal before low, first in first out within each', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const order = [
      ['SUBMIT_JOB_LOW_BG', 'low1'],
      ['SUBMIT_JOB_BG', 'normal1'],
      ['SUBMIT_JOB_HIGH_BG', 'high1'],
      ['SUBMIT_JOB_LOW_BG', 'low2'],
      ['SUBMIT_JOB_HIGH_BG', 'high2'],
      ['SUBMIT_JOB_BG', 'normal2'],
    ] as const;
    for (const [type, data] of order) await submit(c, type, 'prio', '', data);
    const w = await worker(t, 'prio');
    const got: string[] = [];
    for (let i = 0; i < order.length; i++) {
      const [handle, , , data] = await grab(w);
      got.push(data);
      w.send('WORK_COMPLETE', handle, '');
    }
    assert.deepEqual(got, ['high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
  });

  it('runs the worker cycle: NO_JOB, PRE_SLEEP, one NOOP, JOB_ASSIGN_UNIQ, and forwards WORK_* to the client in order', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'reverse');
    w.send('GRAB_JOB_ALL');
    await w.expect('NO_JOB');
    w.send('PRE_SLEEP');
    const c = await t.peer();
    const handle = await submit(c, 'SUBMIT_JOB', 'reverse', 'uuid-1', 'Hello');
    await w.expect('NOOP');
    w.send('GRAB_JOB_ALL');
    assert.deepEqual(await w.expect('JOB_ASSIGN_UNIQ'), [handle, 'reverse', 'uuid-1', 'Hello']);
    w.send('WORK_STATUS', handle, '1', '2');
    w.send('WORK_DATA', handle, 'partial');
    w.send('WORK_WARNING', handle, 'careful');
    w.send('WORK_COMPLETE', handle, 'olleH');
    assert.deepEqual(await c.expect('WORK_STATUS'), [handle, '1', '2']);
    assert.deepEqual(await c.expect('WORK_DATA'), [handle, 'partial']);
    assert.deepEqual(await c.expect('WORK_WARNING'), [handle, 'careful']);
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'olleH']);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.state, job.result, job.workerId?.startsWith('gearman:')], ['succeeded', Buffer.from('olleH'), true]);
    await settled(t, w, c);
  });

  it('answers GRAB_JOB with JOB_ASSIGN, GRAB_JOB_UNIQ with JOB_ASSIGN_UNIQ, GRAB_JOB_ALL with JOB_ASSIGN_ALL for reduce jobs', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const w = await worker(t, 'rawg');
    const h1 = await submit(c, 'SUBMIT_JOB_BG', 'rawg', 'u-1', 'one');
    w.send('GRAB_JOB');
    assert.deepEqual(await w.expect('JOB_ASSIGN'), [h1, 'rawg', 'one']);
    const h2 = await submit(c, 'SUBMIT_JOB_BG', 'rawg', 'u-2', 'two');
    w.send('GRAB_JOB_UNIQ');
    assert.deepEqual(await w.expect('JOB_ASSIGN_UNIQ'), [h2, 'rawg', 'u-2', 'two']);
    c.send('SUBMIT_REDUCE_JOB_BACKGROUND', 'rawg', 'u-reduce', 'myreducer', '', 'mapdata');
    const [h3] = await c.expect('JOB_CREATED');
    w.send('GRAB_JOB_ALL');
    assert.deepEqual(await w.expect('JOB_ASSIGN_ALL'), [h3, 'rawg', 'u-reduce', 'myreducer', 'mapdata']);
    c.send('SUBMIT_REDUCE_JOB', 'rawg', 'u-fg', 'r2', '', 'fg');
    const [h4] = await c.expect('JOB_CREATED');
    w.send('GRAB_JOB_UNIQ');
    assert.deepEqual(await w.expect('JOB_ASSIGN_UNIQ'), [h4, 'rawg', 'u-fg', 'fg'], 'GRAB_JOB_UNIQ drops the reducer');
    w.send('WORK_COMPLETE', h4, 'reduced');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [h4, 'reduced']);
  });

  it("refuses WORK_* for a job the connection does not hold, with gearmand's texts", async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const holder = await worker(t, 'f');
    const other = await worker(t, 'f');
    const handle = await submit(c, 'SUBMIT_JOB', 'f', '', 'x');
    await grab(holder);
    for (const [type, args, text] of [
      ['WORK_COMPLETE', [handle, 'stolen'], 'Job given in work result not found'],
      ['WORK_STATUS', [handle, '1', '2'], 'Job given in work result not found'],
      ['WORK_FAIL', [handle], 'Job given in work result not found'],
      ['WORK_DATA', [handle, 'd'], 'Job does not exist on server'],
      ['WORK_WARNING', [handle, 'w'], 'Job does not exist on server'],
      ['WORK_EXCEPTION', [handle, 'e'], 'An exception was received for a job that does not exist'],
      ['WORK_COMPLETE', ['H:test:999999', 'x'], 'Job given in work result not found'],
    ] as const) {
      other.send(type, ...args);
      assert.deepEqual(await other.expect('ERROR'), ['JOB_NOT_FOUND', text], type);
    }
    holder.send('WORK_COMPLETE', handle, 'mine');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'mine']);
    holder.send('WORK_COMPLETE', handle, 'twice');
    assert.deepEqual(await holder.expect('ERROR'), ['JOB_NOT_FOUND', 'Job given in work result not found']);
  });

  it('sends WORK_EXCEPTION to clients that asked for exceptions and WORK_FAIL to the others', async () => {
    t = await startTestGearman({ server: { functionDefaults: { maxAttempts: 1 } } });
    const withOption = await t.peer();
    withOption.send('OPTION_REQ', 'exceptions');
    await withOption.expect('OPTION_RES');
    const without = await t.peer();
    const handle = await submit(withOption, 'SUBMIT_JOB', 'exc', 'shared', 'x');
    assert.equal(await submit(without, 'SUBMIT_JOB', 'exc', 'shared', 'x'), handle);
    const w = await worker(t, 'exc');
    await grab(w);
    w.send('WORK_EXCEPTION', handle, 'boom');
    assert.deepEqual(await withOption.expect('WORK_EXCEPTION'), [handle, 'boom']);
    assert.deepEqual(await without.expect('WORK_FAIL'), [handle]);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.state, job.error?.code, job.error?.message], ['failed', 'GEARMAN_WORK_EXCEPTION', 'boom']);

    const failed = await submit(withOption, 'SUBMIT_JOB', 'exc', '', 'y');
    const [h] = await grab(w);
    assert.equal(h, failed);
    w.send('WORK_FAIL', h);
    assert.deepEqual(await withOption.expect('WORK_FAIL'), [failed], 'a plain WORK_FAIL stays WORK_FAIL');
    assert.equal((await t.offload.getJob(idOf(failed))).error?.code, 'GEARMAN_WORK_FAIL');
  });

  it("retries a WORK_FAIL per the task's policy under the same handle; the client gets the final result", async () => {
    t = await startTestGearman({ server: { functionDefaults: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 5000 } } } });
    const c = await t.peer();
    const w = await worker(t, 'flaky');
    const handle = await submit(c, 'SUBMIT_JOB', 'flaky', '', 'x');
    const [first] = await grab(w);
    w.send('WORK_FAIL', first);
    await settled(t, c);
    assert.equal((await t.offload.getJob(idOf(handle))).state, 'queued');
    w.send('GRAB_JOB_ALL');
    await w.expect('NO_JOB');
    w.send('PRE_SLEEP');
    await t.clock.advance(5000);
    await w.expect('NOOP');
    w.send('GRAB_JOB_ALL');
    const [second] = await w.expect('JOB_ASSIGN_UNIQ');
    assert.equal(second, handle, 'the retry keeps its handle');
    w.send('WORK_COMPLETE', second, 'second time');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'second time']);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.attempt, job.errors.map((e) => e.code)], [2, ['GEARMAN_WORK_FAIL']]);
  });

  it('re-queues the job of a worker that disconnects, at once and counted; another worker finishes it for the waiting client', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const doomed = await worker(t, 'sleepy');
    const handle = await submit(c, 'SUBMIT_JOB', 'sleepy', '', 'zzz');
    await grab(doomed);
    const rescuer = await worker(t, 'sleepy');
    rescuer.send('GRAB_JOB_ALL');
    await rescuer.expect('NO_JOB');
    rescuer.send('PRE_SLEEP');
    doomed.socket.destroy();
    await rescuer.expect('NOOP');
    const [again] = await grab(rescuer);
    assert.equal(again, handle);
    rescuer.send('WORK_COMPLETE', handle, 'rescued');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'rescued']);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.attempt, job.errors[0].code], [2, 'WORKER_DISCONNECTED']);
  });

  it('re-queues a job whose CAN_DO_TIMEOUT passes and refuses the late result', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const w = await t.peer();
    w.send('CAN_DO_TIMEOUT', 'slow', '2000');
    const handle = await submit(c, 'SUBMIT_JOB', 'slow', '', 'x');
    await grab(w);
    await t.clock.advance(1999);
    assert.equal((await t.offload.getJob(idOf(handle))).state, 'running');
    await t.clock.advance(1);
    await settled(t);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.state, job.errors[0]?.code], ['queued', 'JOB_TIMEOUT']);
    w.send('WORK_COMPLETE', handle, 'late');
    assert.deepEqual(await w.expect('ERROR'), ['JOB_NOT_FOUND', 'Job given in work result not found']);
    const [second] = await grab(w);
    w.send('WORK_COMPLETE', second, 'second-try');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'second-try']);
  });

  it("applies the task's own timeout to jobs held by Gearman workers too", async () => {
    t = await startTestGearman({ server: { functionDefaults: { timeoutMs: 3000 } } });
    const c = await t.peer();
    const w = await worker(t, 'bounded');
    const handle = await submit(c, 'SUBMIT_JOB_BG', 'bounded', '', 'x');
    await grab(w);
    await t.clock.advance(3000);
    await settled(t);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.state, job.errors[0]?.code], ['queued', 'JOB_TIMEOUT']);
  });

  it('renews the leases of held jobs while the connection lives', async () => {
    t = await startTestGearman({ server: { leaseMs: 30_000 } });
    await t.offload.startMaintenance();
    const c = await t.peer();
    const w = await worker(t, 'long');
    const handle = await submit(c, 'SUBMIT_JOB_BG', 'long', '', 'x');
    await grab(w);
    for (let i = 0; i < 20; i++) await t.clock.advance(10_000);
    const job = await t.offload.getJob(idOf(handle));
    assert.deepEqual([job.state, job.attempt], ['running', 1], 'still held after 200 s on a 30 s lease');
    w.send('WORK_COMPLETE', handle, 'finally');
    await settled(t, w);
    assert.equal((await t.offload.getJob(idOf(handle))).state, 'succeeded');
  });

  it('answers GET_STATUS and GET_STATUS_UNIQUE from the job', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const handle = await submit(c, 'SUBMIT_JOB', 'st', 'st-unique', 'x');
    const q = await t.peer();
    q.send('GET_STATUS', handle);
    assert.deepEqual(await q.expect('STATUS_RES'), [handle, '1', '0', '0', '0']);
    const w = await worker(t, 'st');
    await grab(w);
    w.send('WORK_STATUS', handle, '1', '4');
    await c.expect('WORK_STATUS');
    q.send('GET_STATUS', handle);
    assert.deepEqual(await q.expect('STATUS_RES'), [handle, '1', '1', '1', '4']);
    q.send('GET_STATUS_UNIQUE', 'st-unique');
    assert.deepEqual(await q.expect('STATUS_RES_UNIQUE'), ['st-unique', '1', '1', '1', '4', '1']);
    await t.clock.advance(100); // progress reaches the store
    assert.deepEqual((await t.offload.getJob(idOf(handle))).progress, { done: 1, total: 4 });
    w.send('WORK_COMPLETE', handle, 'ok');
    await c.expect('WORK_COMPLETE');
    q.send('GET_STATUS', handle);
    assert.deepEqual(await q.expect('STATUS_RES'), [handle, '0', '0', '0', '0']);
    q.send('GET_STATUS_UNIQUE', 'st-unique');
    assert.deepEqual(await q.expect('STATUS_RES_UNIQUE'), ['st-unique', '0', '0', '0', '0', '0']);
    q.send('GET_STATUS', 'not-a-handle');
    assert.deepEqual(await q.expect('STATUS_RES'), ['not-a-handle', '0', '0', '0', '0']);
  });

  it('lets Gearman workers do API jobs (JSON as its text) and API clients read Gearman results (text, or base64)', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'mixed');
    const api = await t.offload.enqueue('mixed', { a: 1, s: 'é' });
    const [handle, fn, unique, workload] = await grab(w);
    assert.deepEqual([handle, fn, unique, workload], [`H:test:${api.id}`, 'mixed', '', Buffer.from('{"a":1,"s":"é"}').toString('latin1')]);
    w.send('WORK_COMPLETE', handle, Buffer.from([0xff, 0xfe]));
    const done = await api.finished();
    assert.deepEqual(jobToJson(done).result, { $base64: '//4=' });
    const text = await t.offload.enqueue('mixed', null);
    const [h2] = await grab(w);
    w.send('WORK_COMPLETE', h2, 'plain text');
    assert.equal(jobToJson(await text.finished()).result, 'plain text');
  });

  it("lets Offload workers do Gearman jobs: raw bytes in, the result's JSON text out", async () => {
    const echo = defineTask('gm.echo', async (input: Buffer) => ({ got: input.toString() }));
    t = await startTestGearman({ offload: { tasks: [echo] } });
    await t.offload.work({ concurrency: 2 });
    const c = await t.peer();
    const handle = await submit(c, 'SUBMIT_JOB', 'gm.echo', '', 'bytes');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, '{"got":"bytes"}']);
  });

  it('keeps a foreground job when its client disconnects (durable); cancels it when so configured', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    const handle = await submit(c, 'SUBMIT_JOB', 'fg', '', 'x');
    await c.close();
    await settled(t);
    assert.equal((await t.offload.getJob(idOf(handle))).state, 'queued');
    const w = await worker(t, 'fg');
    const [h] = await grab(w);
    w.send('WORK_COMPLETE', h, 'nobody waits, it is recorded');
    await settled(t, w);
    assert.equal((await t.offload.getJob(idOf(handle))).state, 'succeeded');
    await t.dispose();

    t = await startTestGearman({ server: { cancelOnDisconnect: true } });
    const c2 = await t.peer();
    const dropped = await submit(c2, 'SUBMIT_JOB', 'fg', '', 'x');
    const kept = await submit(c2, 'SUBMIT_JOB', 'fg', 'also-bg', 'x');
    const bg = await t.peer();
    assert.equal(await submit(bg, 'SUBMIT_JOB_BG', 'fg', 'also-bg', 'x'), kept);
    await c2.close();
    await settled(t);
    assert.equal((await t.offload.getJob(idOf(dropped))).state, 'cancelled');
    assert.equal((await t.offload.getJob(idOf(kept))).state, 'queued', 'a job also submitted in the background stays');
  });

  it('holds an epoch job until its time, then wakes a sleeping worker', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'later');
    w.send('GRAB_JOB_ALL');
    await w.expect('NO_JOB');
    w.send('PRE_SLEEP');
    const c = await t.peer();
    c.send('SUBMIT_JOB_EPOCH', 'later', '', String(Math.floor(t.clock.now() / 1000) + 60), 'x');
    const [handle] = await c.expect('JOB_CREATED');
    await settled(t, w);
    await t.clock.advance(59_000);
    await settled(t, w);
    await t.clock.advance(1_000);
    await w.expect('NOOP');
    w.send('GRAB_JOB_ALL');
    assert.equal((await w.expect('JOB_ASSIGN_UNIQ'))[0], handle);
  });

  it('wakes one sleeping worker per job, not all of them, and does not wake a worker that just found nothing', async () => {
    t = await startTestGearman();
    const workers: RawPeer[] = [];
    for (let i = 0; i < 10; i++) {
      const w = await worker(t, 'storm');
      w.send('GRAB_JOB_ALL');
      await w.expect('NO_JOB');
      w.send('PRE_SLEEP');
      workers.push(w);
    }
    await settled(t, ...workers);
    const c = await t.peer();
    await submit(c, 'SUBMIT_JOB_BG', 'storm', '', 'one');
    await t.clock.advance(0);
    const woken: RawPeer[] = [];
    for (const w of workers) {
      const seen = await w.sync();
      if (seen.length) woken.push(w);
      assert.ok(seen.length <= 1);
    }
    assert.equal(woken.length, 1, 'exactly one NOOP for one job');
    woken[0].send('GRAB_JOB_ALL');
    const [handle] = await woken[0].expect('JOB_ASSIGN_UNIQ');
    woken[0].send('WORK_COMPLETE', handle, '');
    woken[0].send('GRAB_JOB_ALL');
    await woken[0].expect('NO_JOB');
    woken[0].send('PRE_SLEEP');
    await settled(t, ...workers);
  });

  it('wakes a worker for a job submitted while it slept, in another process', async () => {
    t = await startTestGearman({ server: { pollMs: 1000 } });
    const w = await worker(t, 'remote');
    w.send('GRAB_JOB_ALL');
    await w.expect('NO_JOB');
    w.send('PRE_SLEEP');
    const other = await t.another();
    const job = await other.enqueue('remote', 'from elsewhere');
    await t.clock.advance(1000);
    await w.expect('NOOP');
    w.send('GRAB_JOB_ALL');
    assert.equal((await w.expect('JOB_ASSIGN_UNIQ'))[0], `H:test:${job.id}`);
  });
  it('a worker connection asked to stop (POST /v1/workers/{id}/stop) is handed no job after the next heartbeat; others are', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'reverse');
    const recordOf = async () => (await t.offload.store.listWorkers({})).find((r) => r.kind === 'gearman' && r.pid === null);
    await eventually(async () => (await recordOf()) !== undefined, 'the connection is in the worker list');
    const record = (await recordOf())!;
    assert.equal(await t.offload.store.requestWorkerStop({ id: record.id, now: t.clock.now() }), true);
    // The port refreshes its connections' records at its heartbeat (a third of the lease) and learns it then.
    await t.clock.advance(10_000);
    await eventually(async () => (await recordOf())!.lastSeenAt >= t.clock.now(), 'the record was refreshed');
    await t.clock.advance(0);
    const c = await t.peer();
    const handle = await submit(c, 'SUBMIT_JOB_BG', 'reverse', '', 'abc');
    w.send('GRAB_JOB_ALL');
    await w.expect('NO_JOB');
    const [listed] = (await t.offload.store.listWorkers({})).filter((r) => r.id === record.id);
    assert.equal(listed!.stopRequestedAt !== null, true);
    const other = await worker(t, 'reverse');
    assert.equal((await grab(other))[0], handle);
  });
});
