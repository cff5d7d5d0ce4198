/**
 * A worker whose handlers finish fast claims jobs ahead of its free slots: they start as slots
 * free, each once and in queue order, and go back to the queue (the attempt not counted) when
 * no slot takes them in time, when cancelled, and at stop. Time is a ManualClock (demand is
 * counted per 10 ms).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask } from '../../src/index.js';
import { HOLD_MS } from '../../src/worker/claimed-ahead.js';
import type { Worker } from '../../src/worker/worker.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';

interface Gated {
  ran: number[];
  running: number;
  /** Lets every job waiting at the gate finish, and every later one run straight through. */
  open(): void;
  started(n: number): Promise<void>;
}

/** A task whose jobs with input ≥ 100 wait at a gate; the others return at once. */
function gatedTask(name: string) {
  const gate: Gated & { waiting: (() => void)[]; opened: boolean; waiters: { n: number; resolve: () => void }[] } = {
    ran: [],
    running: 0,
    waiting: [],
    opened: false,
    waiters: [],
    open() {
      this.opened = true;
      for (const w of this.waiting.splice(0)) w();
    },
    started(n) {
      if (this.ran.length >= n) return Promise.resolve();
      return new Promise((resolve) => this.waiters.push({ n, resolve }));
    },
  };
  const task = defineTask(name, async (i: number) => {
    gate.ran.push(i);
    for (const w of gate.waiters.filter((w) => gate.ran.length >= w.n)) w.resolve();
    if (i < 100 || gate.opened) return i;
    gate.running++;
    await new Promise<void>((resolve) => gate.waiting.push(resolve));
    gate.running--;
    return i;
  });
  return { task, gate };
}

/** Ten fast jobs run in one 10 ms window, then the clock moves on `gapMs`: the worker expects ten more soon. */
async function warmUp(t: TestOffload, task: ReturnType<typeof gatedTask>['task'], gate: Gated, gapMs: number): Promise<void> {
  await t.offload.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ task, input: i })));
  await gate.started(10);
  await t.offload.commits.drain();
  await t.clock.advance(gapMs);
}

async function counts(t: TestOffload): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of await t.offload.store.countJobs({})) out[c.state] = (out[c.state] ?? 0) + c.count;
  return out;
}

describe('worker: jobs claimed ahead', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  async function setUp(claimAhead?: number, gapMs = 10): Promise<{ gate: Gated; task: ReturnType<typeof gatedTask>['task']; worker: Worker }> {
    const { task, gate } = gatedTask('quick');
    t = await openTestOffload({ tasks: [task] });
    const worker = await t.offload.work({ concurrency: 2, claimAhead });
    await warmUp(t, task, gate, gapMs);
    await t.offload.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ task, input: 100 + i })));
    await gate.started(12);
    await t.offload.commits.drain();
    return { gate, task, worker };
  }

  it('holds as many as it started in the last window, starts them as slots free, each once and in queue order', async () => {
    const { gate } = await setUp();
    assert.equal(gate.running, 2);
    assert.deepEqual(await counts(t), { succeeded: 10, running: 12, queued: 18 }, 'two running, ten held ahead');
    gate.open();
    await gate.started(40);
    await t.offload.commits.drain();
    assert.deepEqual(
      gate.ran,
      Array.from({ length: 40 }, (_, i) => (i < 10 ? i : 90 + i)),
    );
    const jobs = await t.offload.store.listJobs({ limit: 100 });
    assert.ok(
      jobs.every((j) => j.state === 'succeeded' && j.attempt === 1),
      'every job ran once',
    );
  });

  it('still holds as many ahead when the burst came 30 ms before (a store call longer than a window)', async () => {
    const { gate } = await setUp(undefined, 30);
    assert.deepEqual(await counts(t), { succeeded: 10, running: 12, queued: 18 }, '30 ms on: ten held ahead');
    gate.open();
    await gate.started(40);
  });

  it('holds none ahead when the burst came 40 ms before', async () => {
    const { gate } = await setUp(undefined, 40);
    assert.deepEqual(await counts(t), { succeeded: 10, running: 2, queued: 28 }, '40 ms on: only the free slots claimed');
    gate.open();
    await gate.started(40);
  });

  it('gives back held jobs no slot took within the hold time, the attempt not counted', async () => {
    const { gate } = await setUp();
    await t.clock.advance(HOLD_MS);
    await t.offload.commits.drain();
    assert.deepEqual(await counts(t), { succeeded: 10, running: 2, queued: 28 });
    const queued = await t.offload.store.listJobs({ state: 'queued', limit: 100 });
    assert.ok(
      queued.every((j) => j.attempt === 0),
      'no attempt counted',
    );
    gate.open();
    await gate.started(40);
  });

  it('never runs a held job that is cancelled', async () => {
    const { gate } = await setUp();
    const held = (await t.offload.store.listJobs({ state: 'running', limit: 100 })).filter((j) => !gate.ran.includes(Number(j.input)));
    assert.equal(held.length, 10);
    await t.offload.cancel(held[0].id);
    gate.open();
    await gate.started(39);
    await t.offload.commits.drain();
    assert.ok(!gate.ran.includes(Number(held[0].input)));
    assert.equal((await t.offload.getJob(held[0].id))!.state, 'cancelled');
  });

  it('puts held jobs back at stop, the attempt not counted, while the running ones finish', async () => {
    const { gate, worker } = await setUp();
    const stopped = worker.stop();
    gate.open();
    await stopped;
    await t.offload.commits.drain();
    assert.deepEqual(await counts(t), { succeeded: 12, queued: 28 });
    const queued = await t.offload.store.listJobs({ state: 'queued', limit: 100 });
    assert.ok(queued.every((j) => j.attempt === 0));
  });

  it('claims only for its free slots with claimAhead: 0', async () => {
    const { gate } = await setUp(0);
    assert.deepEqual(await counts(t), { succeeded: 10, running: 2, queued: 28 });
    gate.open();
    await gate.started(40);
  });
});
