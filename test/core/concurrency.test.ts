import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask } from '../../src/index.js';
import { deferred, openTestOffload, type TestOffload } from '../helpers/offload.js';

/** A handler that records how many of its jobs run at once, and waits until told to finish. */
function gauge() {
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  let startedCount = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    get peak() {
      return peak;
    },
    get running() {
      return running;
    },
    async run(): Promise<void> {
      running++;
      peak = Math.max(peak, running);
      startedCount++;
      for (const w of waiters.filter((w) => startedCount >= w.n)) w.resolve();
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
    },
    started(n: number): Promise<void> {
      if (startedCount >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    releaseAll() {
      for (const g of gates.splice(0)) g();
    },
  };
}

describe('concurrency', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('fills every free slot with one claim', async () => {
    const g = gauge();
    const task = defineTask('fill', () => g.run());
    t = await openTestOffload({ tasks: [task] });
    await t.offload.enqueueMany(Array.from({ length: 8 }, () => ({ task, input: null })));
    const stats = (t.offload.store as unknown as { stats: Map<string, { calls: number }> }).stats;
    await t.offload.work({ concurrency: 5 });
    await g.started(5);
    assert.equal(stats.get('claimJobs')!.calls, 1);
    assert.equal(g.running, 5);
    g.releaseAll();
    await g.started(8);
    g.releaseAll();
  });

  it('never runs two jobs of a task with concurrency 1 at once, across workers', async () => {
    const g = gauge();
    const task = defineTask('serial', () => g.run(), { concurrency: 1 });
    t = await openTestOffload({ tasks: [task] });
    const other = await t.another({ tasks: [task] });
    const handles = await t.offload.enqueueMany(Array.from({ length: 6 }, () => ({ task, input: null })));
    await t.offload.work({ concurrency: 4 });
    await other.work({ concurrency: 4 });
    for (let i = 1; i <= 6; i++) {
      await g.started(i);
      // Give both workers every chance to start another one.
      await t.clock.advance(6000);
      assert.equal(g.running, 1);
      g.releaseAll();
    }
    for (const h of handles) await h.result();
    assert.equal(g.peak, 1);
  });

  it('holds a per-key limit while jobs with other keys run', async () => {
    const running = new Map<string, number>();
    let peakPerKey = 0;
    const gates: (() => void)[] = [];
    const started = deferred();
    let total = 0;
    const task = defineTask(
      'per-tenant',
      async (input: { tenant: string }) => {
        const n = (running.get(input.tenant) ?? 0) + 1;
        running.set(input.tenant, n);
        peakPerKey = Math.max(peakPerKey, n);
        if (++total === 3) started.resolve();
        await new Promise<void>((r) => gates.push(r));
        running.set(input.tenant, running.get(input.tenant)! - 1);
      },
      { concurrencyPerKey: 1 },
    );
    t = await openTestOffload({ tasks: [task] });
    const items = ['a', 'a', 'a', 'b', 'b', 'c'].map((tenant) => ({ task, input: { tenant }, options: { concurrencyKey: tenant } }));
    const handles = await t.offload.enqueueMany(items);
    await t.offload.work({ concurrency: 10 });
    await started.promise;
    assert.deepEqual([...running.entries()].sort(), [
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    while (handles.length && gates.length) {
      for (const g of gates.splice(0)) g();
      await t.clock.advance(0);
    }
    for (const h of handles) await h.result();
    assert.equal(peakPerKey, 1);
  });

  it('runs at most `concurrency` handlers in one worker', async () => {
    const g = gauge();
    const task = defineTask('bounded', () => g.run());
    t = await openTestOffload({ tasks: [task] });
    const handles = await t.offload.enqueueMany(Array.from({ length: 20 }, () => ({ task, input: null })));
    await t.offload.work({ concurrency: 3 });
    let done = 0;
    while (done < 20) {
      await g.started(Math.min(20, done + 3));
      assert.ok(g.running <= 3);
      done += g.running;
      g.releaseAll();
    }
    for (const h of handles) await h.result();
    assert.equal(g.peak, 3);
  });
});
