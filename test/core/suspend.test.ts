/**
 * Suspending a task by hand (`offload.suspend`, `offload task suspend`) and resuming it
 * (`offload.resume`, `offload task resume`): no job of a suspended task is claimed, on any worker
 * of the store; a resume wakes the workers at once, in this process and in another one. Time is a
 * ManualClock; a resume is seen without it moving.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask, InvalidOptionError, type Offload, UnknownTaskError } from '../../src/index.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';

const limited = defineTask('suspend.limited', async (n: number) => n);
const free = defineTask('suspend.free', async (n: number) => n);

async function suspendedUntil(offload: Offload, task: string): Promise<number | null | undefined> {
  return (await offload.counts()).find((c) => c.task === task)?.suspendedUntil;
}

describe('suspending and resuming a task', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('claims none of its jobs until the suspension ends, on its own; counts say until when', async () => {
    t = await openTestOffload({ tasks: [limited, free] });
    await t.offload.work();
    const until = await t.offload.suspend(limited.name, 60_000);
    assert.equal(until, t.clock.now() + 60_000);
    assert.equal(await suspendedUntil(t.offload, limited.name), until);
    assert.equal(await suspendedUntil(t.offload, free.name), null);

    const held = await t.offload.enqueue(limited, 1);
    // The worker claims for both tasks: the other's job running proves it looked.
    assert.equal(await (await t.offload.enqueue(free, 2)).result(), 2);
    await t.offload.commits.drain();
    assert.equal((await held.status()).state, 'queued');

    await t.clock.advance(60_000);
    assert.equal(await held.result(), 1);
    assert.equal(await suspendedUntil(t.offload, limited.name), null);
  });

  it('only ever lengthens a suspension in place', async () => {
    t = await openTestOffload({ tasks: [limited] });
    const long = await t.offload.suspend(limited.name, 60_000);
    assert.equal(await t.offload.suspend(limited.name, 1000), long);
    assert.equal(await suspendedUntil(t.offload, limited.name), long);
    assert.equal(await t.offload.suspend(limited.name, 120_000), t.clock.now() + 120_000);
  });

  it('a resume ends it at once: the worker claims the jobs without the clock moving', async () => {
    t = await openTestOffload({ tasks: [limited, free] });
    await t.offload.work();
    await t.offload.suspend(limited.name, 3_600_000);
    const held = await t.offload.enqueue(limited, 1);
    assert.equal(await (await t.offload.enqueue(free, 2)).result(), 2);
    await t.offload.commits.drain();
    assert.equal((await held.status()).state, 'queued');

    await t.offload.resume(limited.name);
    assert.equal(await held.result(), 1);
    assert.equal(await suspendedUntil(t.offload, limited.name), null);
    await t.offload.resume(limited.name); // not suspended: nothing changes
  });

  it('a resume in another process wakes the workers of this one', async () => {
    t = await openTestOffload({ tasks: [limited, free] });
    await t.offload.work();
    const other = await t.another();
    // A job the other process submits runs here: this process hears the other's changes.
    assert.equal(await (await other.enqueue(free.name, 0)).result(), 0);
    await other.suspend(limited.name, 3_600_000);
    const held = await other.enqueue(limited.name, 1);
    assert.equal(await (await other.enqueue(free.name, 2)).result(), 2);
    await t.offload.commits.drain();
    assert.equal((await held.status()).state, 'queued');

    await other.resume(limited.name);
    assert.equal(await held.result(), 1);
  });

  it('refuses an unknown task and a length that is not a whole number of ms ≥ 1', async () => {
    t = await openTestOffload({ tasks: [limited] });
    await assert.rejects(t.offload.suspend('no.such.task', 1000), UnknownTaskError);
    await assert.rejects(t.offload.resume('no.such.task'), UnknownTaskError);
    for (const ms of [0, -1, 1.5, Number.NaN]) await assert.rejects(t.offload.suspend(limited.name, ms), InvalidOptionError, String(ms));
  });
});
