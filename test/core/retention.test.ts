import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask } from '../../src/index.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';

describe('retention', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it("keeps finished jobs readable, then prunes them after the task's retention", async () => {
    const HOUR = 3_600_000;
    const quick = defineTask('quick', async () => 'kept for an hour', { retention: { succeeded: HOUR } });
    const forever = defineTask('archive', async () => 'kept a week', {});
    t = await openTestOffload({ tasks: [quick, forever] });
    await t.offload.work();
    const a = await t.offload.enqueue(quick, null);
    const b = await t.offload.enqueue(forever, null);
    await a.result();
    await b.result();
    const { pruner } = await t.offload.startMaintenance();
    await t.clock.advance(HOUR - 60_000);
    await pruner.runNow();
    assert.equal((await a.status()).result, 'kept for an hour');
    await t.clock.advance(2 * 60_000);
    await pruner.runNow();
    await assert.rejects(a.status(), /not found/);
    assert.equal((await b.status()).state, 'succeeded', 'the default keeps succeeded jobs 7 days');
  });
});
