/**
 * Store conformance for push (src/core/endpoint-group.ts): endpoint groups, the binding of their
 * tasks, and slots under caps. Every backend runs these (see sqlite.test.ts and postgres.test.ts).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { resolveEndpointGroup } from '../../src/core/endpoint-group.js';
import type { Store, TakePushSlotsParams } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';
import { newJob } from './store-suite.js';

const T0 = Date.UTC(2026, 0, 1);
const group = (tasks = ['push.task']) =>
  resolveEndpointGroup({
    name: 'g',
    tasks,
    secret: 'sixteen-characters-at-least',
    endpoints: [
      { id: 'a', url: 'https://a.example', concurrency: 2 },
      { id: 'b', url: 'https://b.example', concurrency: 1, weight: 2 },
    ],
    concurrency: 3,
  });

export function pushConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance, push: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
    });
    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    const claimAs = (workerId: string, max = 10, now = T0) => store.claimJobs({ workerId, tasks: ['push.task'], max, leaseMs: 30_000, now });
    const slots = (requests: TakePushSlotsParams['requests'], least = false) =>
      store.takePushSlots({
        group: 'g',
        requests,
        endpoints: [
          { id: 'a', concurrency: 2, weight: 1 },
          { id: 'b', concurrency: 1, weight: 2 },
        ],
        groupConcurrency: 3,
        leastOutstanding: least,
        now: T0,
      });

    it('saves a group, registers and binds its tasks, and lets only its push workers claim them', async () => {
      const saved = await store.saveEndpointGroup({ group: group(), now: T0 });
      assert.equal(saved.group.name, 'g');
      assert.deepEqual(
        saved.group.endpoints.map((e) => e.id),
        ['a', 'b'],
      );
      assert.equal((await store.getTasks({ names: ['push.task'] })).length, 1);
      await store.insertJobs({ jobs: [newJob({ task: 'push.task' })], now: T0 });
      assert.deepEqual(await claimAs('worker-1'), []);
      assert.deepEqual(await claimAs('push:other:x'), []);
      assert.equal((await claimAs('push:g:host:1')).length, 1);
    });

    it('unbinds the tasks of a removed group, and refuses a task bound to another group', async () => {
      await store.saveEndpointGroup({ group: group(), now: T0 });
      const other = { ...group(), name: 'h' };
      await assert.rejects(store.saveEndpointGroup({ group: other, now: T0 }), { code: 'INVALID_ENDPOINT_GROUP' });
      assert.equal(await store.removeEndpointGroup({ name: 'g' }), true);
      assert.equal(await store.removeEndpointGroup({ name: 'g' }), false);
      await store.insertJobs({ jobs: [newJob({ task: 'push.task' })], now: T0 });
      assert.equal((await claimAs('worker-1')).length, 1);
      await store.saveEndpointGroup({ group: other, now: T0 });
      assert.deepEqual(
        (await store.getEndpointGroups({})).map((r) => r.group.name),
        ['h'],
      );
    });

    it('gives slots in order within each cap and the group’s, and frees a slot when its job stops running', async () => {
      await store.saveEndpointGroup({ group: group(), now: T0 });
      await store.insertJobs({ jobs: Array.from({ length: 5 }, () => newJob({ task: 'push.task' })), now: T0 });
      const jobs = await claimAs('push:g:1');
      const req = (i: number, order = ['a', 'b']) => ({ jobId: jobs[i].id, leaseToken: jobs[i].leaseToken, order });
      assert.deepEqual(await slots([req(0), req(1), req(2, ['b', 'a'])]), ['a', 'a', 'b']);
      assert.deepEqual(await slots([req(3)]), [null], 'the group is full');
      assert.deepEqual(await store.countPushSlots({ group: 'g' }), [
        { endpoint: 'a', outstanding: 2 },
        { endpoint: 'b', outstanding: 1 },
      ]);
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: jobs[0].id, token: jobs[0].leaseToken, result: null }], now: T0 + 1 });
      assert.deepEqual(await slots([req(3, ['b', 'a']), req(4)]), ['a', null], 'b is at its cap; a has one again');
      await store.releasePushSlots({ slots: [{ jobId: jobs[2].id, leaseToken: '1' }] });
      assert.deepEqual(await slots([req(4, ['b'])]), [null], 'a slot is given back only under its own token');
      await store.releasePushSlots({ slots: [{ jobId: jobs[2].id, leaseToken: jobs[2].leaseToken }] });
      assert.deepEqual(await slots([req(4, ['b'])]), ['b'], 'given back, its room is free while its job still runs');
    });

    it('gives slots back and takes others in one call: the room given back is there for the takes', async () => {
      await store.saveEndpointGroup({ group: group(), now: T0 });
      await store.insertJobs({ jobs: Array.from({ length: 2 }, () => newJob({ task: 'push.task' })), now: T0 });
      const [first, second] = await claimAs('push:g:1');
      assert.deepEqual(await slots([{ jobId: first.id, leaseToken: first.leaseToken, order: ['b'] }]), ['b']);
      const both = await store.takePushSlots({
        group: 'g',
        requests: [{ jobId: second.id, leaseToken: second.leaseToken, order: ['b'] }],
        endpoints: [
          { id: 'a', concurrency: 2, weight: 1 },
          { id: 'b', concurrency: 1, weight: 2 },
        ],
        groupConcurrency: 3,
        leastOutstanding: false,
        release: [{ jobId: first.id, leaseToken: first.leaseToken }],
        now: T0,
      });
      assert.deepEqual(both, ['b']);
      assert.deepEqual(await store.countPushSlots({ group: 'g' }), [{ endpoint: 'b', outstanding: 1 }]);
    });

    it('under least-outstanding, takes the endpoint with the fewest jobs per weight', async () => {
      await store.saveEndpointGroup({
        group: { ...group(), endpoints: group().endpoints.map((e) => ({ ...e, concurrency: null })), concurrency: 10 },
        now: T0,
      });
      await store.insertJobs({ jobs: Array.from({ length: 3 }, () => newJob({ task: 'push.task' })), now: T0 });
      const jobs = await claimAs('push:g:1');
      const chosen = await store.takePushSlots({
        group: 'g',
        requests: jobs.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken, order: ['a', 'b'] })),
        endpoints: [
          { id: 'a', concurrency: null, weight: 1 },
          { id: 'b', concurrency: null, weight: 2 },
        ],
        groupConcurrency: 10,
        leastOutstanding: true,
        now: T0,
      });
      assert.deepEqual(chosen, ['b', 'a', 'b']);
    });

    it('a slot taken under an old lease token does not count once the job runs again', async () => {
      await store.saveEndpointGroup({ group: group(), now: T0 });
      await store.insertJobs({ jobs: [newJob({ task: 'push.task' })], now: T0 });
      const [first] = await claimAs('push:g:1');
      assert.deepEqual(await slots([{ jobId: first.id, leaseToken: first.leaseToken, order: ['b'] }]), ['b']);
      await store.finishJobs({ transitions: [{ to: 'queued', id: first.id, token: first.leaseToken, runAt: T0, error: null, countAttempt: false }], now: T0 });
      const [again] = await claimAs('push:g:1');
      assert.deepEqual(await slots([{ jobId: again.id, leaseToken: again.leaseToken, order: ['b'] }]), ['b']);
    });
  });
}
