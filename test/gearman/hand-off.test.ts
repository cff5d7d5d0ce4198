/**
 * Jobs handed straight to waiting Gearman workers: a new job goes to a sleeping (or just idle)
 * worker as it is stored, leased, without a claim; a GRAB for functions known to have no job is
 * answered without asking the store; and whatever goes wrong on the way puts the job back in the
 * queue. Raw packets over real sockets; time is a ManualClock.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { GearmanServer } from '../../src/gearman/server.js';
import type { Wakeups } from '../../src/gearman/wakeups.js';
import type { CallStats } from '../../src/store/instrumented.js';
import { gearmanWorker, grabJob, idOf, type RawPeer, startTestGearman, type TestGearman, until } from '../helpers/gearman.js';
import { nextEvent } from '../helpers/offload.js';
import { postgresFactory, postgresReady } from '../helpers/postgres.js';

const worker = gearmanWorker;

/** GRAB answered NO_JOB: the worker is idle. */
async function emptyGrab(w: RawPeer): Promise<void> {
  w.send('GRAB_JOB');
  await w.expect('NO_JOB');
}

async function asleep(w: RawPeer): Promise<void> {
  await emptyGrab(w);
  w.send('PRE_SLEEP');
  assert.deepEqual(await w.sync(), [], 'no NOOP: nothing to do');
}

async function submit(c: RawPeer, fn: string, data: string, unique = '', type: 'SUBMIT_JOB' | 'SUBMIT_JOB_BG' = 'SUBMIT_JOB'): Promise<string> {
  c.send(type, fn, unique, data);
  return (await c.expect('JOB_CREATED'))[0];
}

/**
 * A worker of `fn` whose GRAB lingers: its first GRAB asks the store (and the port learns the
 * queue is empty), its second waits for a job.
 */
async function lingering(t: TestGearman, fn: string, grab: 'GRAB_JOB' | 'GRAB_JOB_ALL'): Promise<RawPeer> {
  const w = await worker(t, fn);
  await emptyGrab(w);
  w.send(grab);
  await until(() => t.server.stats().lingering === 1, 'the GRAB lingers');
  return w;
}

/** A sleeping worker of `fn` woken for a client's new foreground job, which is stored for it. */
async function wokenFor(t: TestGearman, fn: string, data: string): Promise<{ w: RawPeer; c: RawPeer; handle: string }> {
  const w = await worker(t, fn);
  await asleep(w);
  const c = await t.peer();
  const handle = await submit(c, fn, data);
  await w.expect('NOOP');
  return { w, c, handle };
}

/** How many claims the store has run so far (on their own, or with results). */
function claims(t: TestGearman): number {
  const stats = (t.offload.store as unknown as { stats: Map<string, CallStats> }).stats;
  return stats.get('claimJobs')?.calls ?? 0;
}

describe('gearman hand-off to waiting workers', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('stores a new job running for a sleeping worker, wakes it and assigns the job at its GRAB without a claim', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'resize');
    await asleep(w);
    const before = claims(t);
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-1');
    await w.expect('NOOP');
    const row = await t.offload.store.getJob({ id: idOf(handle) });
    assert.deepEqual([row!.state, row!.attempt, row!.workerId?.startsWith('gearman:')], ['running', 1, true]);
    w.send('GRAB_JOB');
    assert.deepEqual(await w.expect('JOB_ASSIGN'), [handle, 'resize', 'img-1']);
    w.send('WORK_COMPLETE', handle, 'done');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'done']);
    // Its next GRAB finds nothing without asking either: the queue is known empty.
    await emptyGrab(w);
    assert.equal(claims(t), before, 'no claim ran');
    const done = await t.offload.store.getJob({ id: idOf(handle) });
    assert.deepEqual([done!.state, done!.attempt], ['succeeded', 1]);
  });

  it('gives a job that arrives between NO_JOB and PRE_SLEEP at the PRE_SLEEP, with the unique key to GRAB_JOB_UNIQ', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'resize');
    await emptyGrab(w);
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-2', 'u-2', 'SUBMIT_JOB_BG');
    assert.deepEqual(await w.sync(), [], 'an idle worker is not sent NOOP before it sleeps');
    w.send('PRE_SLEEP');
    await w.expect('NOOP');
    w.send('GRAB_JOB_UNIQ');
    assert.deepEqual(await w.expect('JOB_ASSIGN_UNIQ'), [handle, 'resize', 'u-2', 'img-2']);
  });

  it('wakes an idle worker for a job queued through the API, and its GRAB claims it', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'resize');
    await emptyGrab(w);
    await emptyGrab(w);
    const known = claims(t);
    const job = await t.offload.enqueue('resize', 'from-api');
    w.send('PRE_SLEEP');
    await w.expect('NOOP');
    w.send('GRAB_JOB');
    const [handle, fn, data] = await w.expect('JOB_ASSIGN');
    assert.deepEqual([idOf(handle), fn, data], [job.id, 'resize', '"from-api"']);
    assert.equal(claims(t), known + 1, 'one claim, for the queued job');
  });

  it('holds a GRAB that finds nothing for a moment: a job submitted meanwhile is its answer, with no NO_JOB, PRE_SLEEP or NOOP', async () => {
    t = await startTestGearman({ server: { grabLingerMs: 5 } });
    const w = await lingering(t, 'resize', 'GRAB_JOB');
    const before = claims(t);
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-9');
    assert.deepEqual(await w.expect('JOB_ASSIGN'), [handle, 'resize', 'img-9']);
    assert.equal(claims(t), before, 'no claim ran');
    w.send('WORK_COMPLETE', handle, 'done');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'done']);
  });

  it('gives a reduce job to a lingering GRAB_JOB_ALL with its reducer', async () => {
    t = await startTestGearman({ server: { grabLingerMs: 5 } });
    const w = await lingering(t, 'mapper', 'GRAB_JOB_ALL');
    const c = await t.peer();
    c.send('SUBMIT_REDUCE_JOB', 'mapper', 'u-r', 'my.reducer', '', 'map-me');
    const [handle] = await c.expect('JOB_CREATED');
    assert.deepEqual(await w.expect('JOB_ASSIGN_ALL'), [handle, 'mapper', 'u-r', 'my.reducer', 'map-me']);
  });

  it('refuses a linger that is not 0–1000 ms, saying what it takes', async () => {
    t = await startTestGearman();
    for (const grabLingerMs of [-1, 1001, 2.5]) {
      assert.throws(
        () => new GearmanServer(t.offload, silentLogger, { port: 0, grabLingerMs }),
        (e: unknown) => e instanceof InvalidOptionError && /from 0 to 1000/.test(e.message),
      );
    }
  });

  it('answers a lingering GRAB NO_JOB when its moment passes, and with a claimed job when one is queued meanwhile', async () => {
    t = await startTestGearman({ server: { grabLingerMs: 5 } });
    const w = await lingering(t, 'resize', 'GRAB_JOB');
    await t.clock.advance(4);
    assert.equal(t.server.stats().lingering, 1, 'still waiting');
    await t.clock.advance(1);
    await w.expect('NO_JOB');
    w.send('GRAB_JOB');
    await until(() => t.server.stats().lingering === 1, 'the next GRAB lingers');
    const job = await t.offload.enqueue('resize', 'queued');
    const [handle] = await w.expect('JOB_ASSIGN');
    assert.equal(idOf(handle), job.id);
    assert.equal(t.server.stats().lingering, 0);
  });

  it('puts the job back in the queue, the attempt not counted, when its worker leaves before taking it; another worker gets it', async () => {
    t = await startTestGearman();
    const { w: w1, c, handle } = await wokenFor(t, 'resize', 'img-3');
    w1.socket.destroy();
    await w1.closed;
    const w2 = await worker(t, 'resize');
    assert.deepEqual(await grabJob(w2), [handle, 'resize', '', 'img-3']);
    const row = await t.offload.store.getJob({ id: idOf(handle) });
    assert.deepEqual([row!.state, row!.attempt, row!.error], ['running', 1, null]);
    w2.send('WORK_COMPLETE', handle, 'ok');
    assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'ok']);
  });

  it('puts the job back at once when the worker drops the function before its GRAB; another worker gets it', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'resize', 'crop');
    await asleep(w);
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-4', '', 'SUBMIT_JOB_BG');
    await w.expect('NOOP');
    w.send('CANT_DO', 'resize');
    await w.sync();
    await t.clock.advance(0);
    const row = await t.offload.store.getJob({ id: idOf(handle) });
    assert.deepEqual([row!.state, row!.attempt], ['queued', 0]);
    w.send('GRAB_JOB');
    await w.expect('NO_JOB');
    const other = await worker(t, 'resize');
    assert.equal((await grabJob(other))[0], handle);
  });

  it('puts back a job its woken worker never comes for', async () => {
    t = await startTestGearman({ server: { leaseMs: 30_000 } });
    const w = await worker(t, 'resize');
    await asleep(w);
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-5', '', 'SUBMIT_JOB_BG');
    await w.expect('NOOP');
    for (let i = 0; i < 2; i++) await t.clock.advance(10_000);
    const row = await t.offload.store.getJob({ id: idOf(handle) });
    assert.deepEqual([row!.state, row!.attempt], ['queued', 0]);
    assert.deepEqual(await grabJob(w), [handle, 'resize', '', 'img-5'], 'it is still there for a GRAB');
  });

  it('queues instead, for a function with a concurrency limit', async () => {
    t = await startTestGearman({ server: { functionDefaults: { concurrency: 1 } } });
    const w = await worker(t, 'limited');
    await asleep(w);
    const c = await t.peer();
    const handle = await submit(c, 'limited', 'x', '', 'SUBMIT_JOB_BG');
    await w.expect('NOOP');
    assert.equal((await t.offload.store.getJob({ id: idOf(handle) }))!.state, 'queued');
    w.send('GRAB_JOB');
    assert.equal((await w.expect('JOB_ASSIGN'))[0], handle);
  });

  it('wakes a sleeper when a job of a limited function finishes and frees the slot another job waited for', async () => {
    t = await startTestGearman({ server: { functionDefaults: { concurrency: 1 } } });
    const a = await worker(t, 'limited');
    const b = await worker(t, 'limited');
    const c = await t.peer();
    const first = await submit(c, 'limited', 'one', '', 'SUBMIT_JOB_BG');
    assert.equal((await grabJob(a))[0], first);
    await asleep(b);
    const second = await submit(c, 'limited', 'two', '', 'SUBMIT_JOB_BG');
    // Woken by the new job, b finds the one slot taken and goes back to sleep, unwoken.
    await b.expect('NOOP');
    await emptyGrab(b);
    b.send('PRE_SLEEP');
    assert.deepEqual(await b.sync(), [], 'no NOOP while the slot is taken');
    // a finishes and asks for nothing more: b is woken at once, not by the backstop (the clock stands still).
    a.send('WORK_COMPLETE', first, 'done');
    await b.expect('NOOP');
    assert.equal((await grabJob(b))[0], second);
  });

  it('with cancelOnDisconnect, cancels a job handed to a woken worker that has not come for it when its client leaves', async () => {
    t = await startTestGearman({ server: { cancelOnDisconnect: true } });
    const { w, c, handle } = await wokenFor(t, 'resize', 'img-9');
    assert.equal((await t.offload.store.getJob({ id: idOf(handle) }))!.state, 'running', 'stored for the woken worker');
    const cancelled = nextEvent(t.offload, 'job:cancelled', (e) => e.id === idOf(handle));
    await c.close();
    await cancelled;
    // The worker comes too late: the job is not handed out, and nothing else waits.
    w.send('GRAB_JOB');
    await w.expect('NO_JOB');
    assert.equal((await t.offload.store.getJob({ id: idOf(handle) }))!.state, 'cancelled');
  });

  it('without it, the job handed to a woken worker is done although its client left', async () => {
    t = await startTestGearman();
    const { w, c, handle } = await wokenFor(t, 'resize', 'img-10');
    await c.close();
    w.send('GRAB_JOB');
    assert.equal((await w.expect('JOB_ASSIGN'))[0], handle);
    const succeeded = nextEvent(t.offload, 'job:succeeded', (e) => e.id === idOf(handle));
    w.send('WORK_COMPLETE', handle, 'done');
    await succeeded;
  });

  it('hands nothing over while the function is suspended; the sleeper is woken when the suspension ends', async () => {
    t = await startTestGearman();
    const w = await worker(t, 'resize');
    await asleep(w);
    await t.offload.store.pauseTask({ task: 'resize', until: t.clock.now() + 60_000 });
    const c = await t.peer();
    const handle = await submit(c, 'resize', 'img-8', '', 'SUBMIT_JOB_BG');
    await t.clock.advance(0);
    assert.deepEqual(await w.sync(), [], 'no NOOP while suspended');
    assert.equal((await t.offload.store.getJob({ id: idOf(handle) }))!.state, 'queued');
    // The sleeper went back to sleep after its ECHO; the suspension ends and it is woken.
    w.send('PRE_SLEEP');
    await t.clock.advance(60_000);
    await w.expect('NOOP');
    w.send('GRAB_JOB');
    assert.equal((await w.expect('JOB_ASSIGN'))[0], handle);
  });

  it('gives nothing twice when the submit coalesces into a job that exists: the woken worker finds no job', async () => {
    t = await startTestGearman();
    const w1 = await worker(t, 'resize');
    const c = await t.peer();
    const first = await submit(c, 'resize', 'img-6', 'same', 'SUBMIT_JOB_BG');
    assert.equal((await grabJob(w1))[0], first);
    const w2 = await worker(t, 'resize');
    await asleep(w2);
    assert.equal(await submit(c, 'resize', 'img-6', 'same'), first);
    // Woken as the submit arrived (before the store said it coalesced).
    await w2.expect('NOOP');
    await asleep(w2);
    const other = await submit(c, 'resize', 'img-7');
    await w2.expect('NOOP');
    w2.send('GRAB_JOB');
    assert.equal((await w2.expect('JOB_ASSIGN'))[0], other);
  });
});

if (await postgresReady('gearman hand-off on PostgreSQL')) {
  describe('gearman hand-off on PostgreSQL', () => {
    let t: TestGearman;
    afterEach(() => t?.dispose());

    it('stores the job running for the sleeping worker, and puts it back when that worker leaves first', async () => {
      t = await startTestGearman({ offload: { factory: postgresFactory } });
      const w1 = await worker(t, 'resize');
      const c = await t.peer();
      // The first job after start is queued: the function's limits are still being read.
      const first = await submit(c, 'resize', 'first', '', 'SUBMIT_JOB_BG');
      assert.equal((await grabJob(w1))[0], first);
      w1.send('WORK_COMPLETE', first, '');
      await asleep(w1);
      await (t.server as unknown as { wakeups: Wakeups }).wakeups.queues.settled();
      const handle = await submit(c, 'resize', 'img-pg');
      await w1.expect('NOOP');
      assert.equal((await t.offload.store.getJob({ id: idOf(handle) }))!.state, 'running');
      w1.socket.destroy();
      await w1.closed;
      const w2 = await worker(t, 'resize');
      assert.deepEqual(await grabJob(w2), [handle, 'resize', '', 'img-pg']);
      w2.send('WORK_COMPLETE', handle, 'ok');
      assert.deepEqual(await c.expect('WORK_COMPLETE'), [handle, 'ok']);
      const row = await t.offload.store.getJob({ id: idOf(handle) });
      assert.deepEqual([row!.state, row!.attempt], ['succeeded', 1]);
    });
  });
}
