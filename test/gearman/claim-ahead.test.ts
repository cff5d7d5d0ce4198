/**
 * Jobs claimed ahead for Gearman workers draining a backlog: GRABs coming fast are answered from
 * jobs claimed in batches, held under the port's leases; those go back to the queue, the attempt
 * not counted, when their workers go, when nobody comes for them, when one is cancelled, and at
 * stop. Raw packets over real sockets; time is a ManualClock (demand is counted per 10 ms).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Wakeups } from '../../src/gearman/wakeups.js';
import type { CallStats } from '../../src/store/instrumented.js';
import { HOLD_MS } from '../../src/worker/claimed-ahead.js';
import { adminExchange, gearmanWorker, idOf, type RawPeer, startTestGearman, type TestGearman, until } from '../helpers/gearman.js';

function claims(t: TestGearman): number {
  const stats = (t.offload.store as unknown as { stats: Map<string, CallStats> }).stats;
  return stats.get('claimJobs')?.calls ?? 0;
}

async function backlog(t: TestGearman, fn: string, n: number): Promise<string[]> {
  const jobs = await t.offload.enqueueMany(Array.from({ length: n }, (_, i) => ({ task: fn, input: `job-${i}` })));
  return jobs.map((j) => j.id);
}

/** GRAB, then WORK_COMPLETE with the workload: the job's id. */
async function doOne(w: RawPeer): Promise<string> {
  w.send('GRAB_JOB');
  const [handle, , data] = await w.expect('JOB_ASSIGN');
  w.send('WORK_COMPLETE', handle, `done ${data}`);
  return idOf(handle);
}

/** A worker of `fn` (CAN_DO makes the task known) and a backlog of `n` jobs for it. */
async function workerWithBacklog(t: TestGearman, fn: string, n: number): Promise<{ w: RawPeer; ids: string[] }> {
  const w = await gearmanWorker(t, fn);
  return { w, ids: await backlog(t, fn, n) };
}

/** The worker does `n` jobs in one 10 ms window and starts the next: jobs are claimed ahead for it. */
async function drain(t: TestGearman, w: RawPeer, n = 6): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < n; i++) done.push(await doOne(w));
  await t.clock.advance(10);
  // The first GRAB of a function reads whether it has limits; from the next on, jobs are claimed ahead.
  done.push(await doOne(w));
  await (t.server as unknown as { wakeups: Wakeups }).wakeups.queues.settled();
  done.push(await doOne(w));
  await until(() => t.server.stats().claimedAhead > 0, 'jobs are claimed ahead');
  await w.sync(); // its last WORK_COMPLETE has reached the port
  return done;
}

async function states(t: TestGearman, ids: string[]): Promise<Map<string, { state: string; attempt: number }>> {
  const rows = await t.offload.store.getJobs({ ids });
  return new Map(rows.map((r) => [r.id, { state: r.state, attempt: r.attempt }]));
}

describe('gearman: jobs claimed ahead for draining workers', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('answers a fast stream of GRABs from jobs claimed in batches: each job done once, in queue order, with far fewer claims than GRABs', async () => {
    t = await startTestGearman();
    const { w, ids } = await workerWithBacklog(t, 'drain', 60);
    const before = claims(t);
    const done = await drain(t, w);
    while (done.length < ids.length) {
      done.push(await doOne(w));
      if (done.length % 6 === 0) await t.clock.advance(10);
    }
    w.send('GRAB_JOB');
    await w.expect('NO_JOB');
    assert.deepEqual(done, ids, 'every job once, oldest first');
    const grabs = ids.length + 1;
    assert.ok(claims(t) - before < grabs / 2, `${claims(t) - before} claims for ${grabs} GRABs`);
    await t.offload.commits.drain();
    for (const [, s] of await states(t, ids)) assert.deepEqual(s, { state: 'succeeded', attempt: 1 });
  });

  it('puts the jobs held ahead back in the queue, attempt not counted, the moment the only worker for them disconnects', async () => {
    t = await startTestGearman();
    const { w, ids } = await workerWithBacklog(t, 'drain', 40);
    const done = await drain(t, w);
    const held = ids.filter((id) => !done.includes(id));
    await w.close();
    await until(() => t.server.stats().claimedAhead === 0, 'nothing held');
    await t.offload.commits.drain();
    assert.ok(held.length > 0);
    for (const [, s] of await states(t, held)) assert.deepEqual(s, { state: 'queued', attempt: 0 }, 'no attempt counted for a job nobody worked on');
  });

  it('keeps them while another worker of the function is connected, and hands them to it', async () => {
    t = await startTestGearman();
    const { w: other, ids } = await workerWithBacklog(t, 'drain', 30);
    other.send('GRAB_JOB');
    const [first] = await other.expect('JOB_ASSIGN');
    other.send('WORK_COMPLETE', first, 'ok');
    const w = await gearmanWorker(t, 'drain');
    await drain(t, w);
    const ahead = t.server.stats().claimedAhead;
    await w.close();
    await t.offload.commits.drain();
    assert.equal(t.server.stats().claimedAhead, ahead, 'still held for the other worker');
    const next = await doOne(other);
    assert.ok(ids.includes(next));
  });

  it('gives back jobs nobody came for within the hold time', async () => {
    t = await startTestGearman();
    const { w, ids } = await workerWithBacklog(t, 'drain', 40);
    const done = await drain(t, w);
    await t.clock.advance(HOLD_MS);
    await until(() => t.server.stats().claimedAhead === 0, 'nothing held');
    await t.offload.commits.drain();
    for (const [, s] of await states(
      t,
      ids.filter((id) => !done.includes(id)),
    ))
      assert.deepEqual(s, { state: 'queued', attempt: 0 });
  });

  it('drops a held job that is cancelled: no GRAB gets it', async () => {
    t = await startTestGearman();
    const { w, ids } = await workerWithBacklog(t, 'drain', 30);
    const done = await drain(t, w);
    await t.offload.commits.drain();
    const heldIds = (await states(t, ids)).entries();
    const target = [...heldIds].find(([id, s]) => s.state === 'running' && !done.includes(id))![0];
    await t.offload.cancel(target);
    const rest: string[] = [];
    for (;;) {
      w.send('GRAB_JOB');
      const r = await w.next();
      if (r.kind === 'packet' && r.name === 'NO_JOB') break;
      assert.ok(r.kind === 'packet' && r.name === 'JOB_ASSIGN', JSON.stringify(r));
      rest.push(idOf(r.text[0]));
      w.send('WORK_COMPLETE', r.text[0], 'ok');
    }
    assert.ok(!rest.includes(target), 'the cancelled job was not handed out');
    assert.equal(done.length + rest.length, ids.length - 1);
  });

  it('reports jobs held ahead as queued, not running, in admin status', async () => {
    t = await startTestGearman();
    const { w } = await workerWithBacklog(t, 'drain', 30);
    await drain(t, w);
    await t.offload.commits.drain();
    const held = t.server.stats().claimedAhead;
    const [status] = await adminExchange(t.port, ['status']);
    const row = status.split('\n').find((l) => l.startsWith('drain\t'))!;
    const [, total, running] = row.split('\t').map(Number);
    assert.ok(held > 0);
    assert.equal(running, 0, `the worker holds no job; ${held} are held ahead: ${row}`);
    assert.equal(total, 30 - 8);
  });

  it('gives everything held back to the queue when the server stops', async () => {
    t = await startTestGearman();
    const { w, ids } = await workerWithBacklog(t, 'drain', 30);
    const done = await drain(t, w);
    await t.server.stop();
    await t.offload.commits.drain();
    const s = await states(
      t,
      ids.filter((id) => !done.includes(id)),
    );
    assert.ok(
      [...s.values()].every((x) => x.state === 'queued' && x.attempt === 0),
      JSON.stringify([...s.values()]),
    );
  });
});
