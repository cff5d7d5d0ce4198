/**
 * A job waiting for its concurrency key wakes whoever waits for work when the key frees, in this
 * process and in another one, on both stores: no backstop timer is needed (the manual clock never
 * moves here).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WorkSignal } from '../../src/http/work-signal.js';
import { defineTask, type Offload } from '../../src/index.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';
import { postgresFactory, postgresReady } from '../helpers/postgres.js';
import type { StoreFactory } from '../helpers/stores.js';
import { sqliteFactory } from '../helpers/stores.js';

const keyed = defineTask('keyed.sync', async () => null, { concurrencyPerKey: 1 });
const probe = defineTask('keyed.probe', async () => null);

/**
 * Resolves once the waiter hears of the other's changes: its store's change feed is up (on
 * PostgreSQL, the "look again" it says on connecting has been said), so what it hears next is news.
 */
async function listening(t: TestOffload, waiter: Offload): Promise<() => void> {
  let heard!: () => void;
  const ready = new Promise<void>((resolve) => {
    heard = resolve;
  });
  const off = waiter.runnability.subscribe([probe.name], () => heard());
  await t.offload.enqueue(probe, null);
  await ready;
  return off;
}

async function keyWakes(t: TestOffload, waiter: Offload): Promise<void> {
  const stopListening = await listening(t, waiter);
  const first = await t.offload.enqueue(keyed, null, { concurrencyKey: 'account-7' });
  const second = await t.offload.enqueue(keyed, null, { concurrencyKey: 'account-7' });
  const [held] = await t.offload.claim({ tasks: [keyed.name] });
  assert.equal(held.id, first.id);
  assert.deepEqual(await waiter.claim({ tasks: [keyed.name] }), [], 'the second waits for the key');
  const signal = new WorkSignal(waiter, [keyed.name]);
  try {
    const woken = signal.wait(60_000, new AbortController().signal);
    await t.offload.complete(held.id, { leaseToken: held.leaseToken });
    await woken;
    const [next] = await waiter.claim({ tasks: [keyed.name] });
    assert.equal(next?.id, second.id);
  } finally {
    signal.close();
    stopListening();
  }
}

function suite(name: string, factory: StoreFactory): void {
  describe(`concurrency keys wake waiters (${name})`, () => {
    let t: TestOffload;
    afterEach(() => t.dispose());

    it('in the process that frees the key', async () => {
      t = await openTestOffload({ factory, tasks: [keyed, probe] });
      await keyWakes(t, t.offload);
    });

    it('in another process on the same store', async () => {
      t = await openTestOffload({ factory, tasks: [keyed, probe] });
      await keyWakes(t, await t.another({ tasks: [keyed, probe] }));
    });
  });
}

suite('sqlite', sqliteFactory);
if (await postgresReady('concurrency keys wake waiters (postgres)')) suite('postgres', postgresFactory);
