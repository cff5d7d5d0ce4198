/**
 * A rate-limited task served to Gearman workers: its jobs go out no faster than the limit, the
 * rest wait queued (none is handed straight to a sleeping worker past the limit), and a sleeping
 * worker is woken when the window has room. Raw packets over real sockets; time is a ManualClock.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { resolveTaskSettings } from '../../src/core/task.js';
import { gearmanWorker, type RawPeer, startTestGearman, type TestGearman } from '../helpers/gearman.js';

async function grab(w: RawPeer): Promise<string> {
  w.send('GRAB_JOB');
  const r = await w.next();
  return r.kind === 'packet' ? r.name : 'text';
}

describe('gearman workers under a rate limit', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('get at most `limit` jobs per window, and are woken when it has room', async () => {
    t = await startTestGearman();
    const settings = resolveTaskSettings('resize', { rateLimit: { limit: 2, periodMs: 1000 } });
    await t.offload.store.registerTasks({ tasks: [{ name: 'resize', settings }], now: t.clock.now() });
    const w = await gearmanWorker(t, 'resize');
    const c = await t.peer();
    for (let i = 0; i < 5; i++) {
      c.send('SUBMIT_JOB_BG', 'resize', '', `img-${i}`);
      await c.expect('JOB_CREATED');
    }
    const assigned = async () => {
      const names: string[] = [];
      for (;;) {
        const name = await grab(w);
        names.push(name);
        if (name !== 'JOB_ASSIGN') return names;
      }
    };
    assert.deepEqual(await assigned(), ['JOB_ASSIGN', 'JOB_ASSIGN', 'NO_JOB']);
    const [counts] = await t.offload.counts();
    assert.deepEqual([counts.queued, counts.running], [3, 2], 'the rest wait queued');
    w.send('PRE_SLEEP');
    assert.deepEqual(await w.sync(), [], 'not woken while the window is full');
    await t.clock.advance(1000);
    await w.expect('NOOP');
    assert.deepEqual(await assigned(), ['JOB_ASSIGN', 'JOB_ASSIGN', 'NO_JOB']);
  });
});
