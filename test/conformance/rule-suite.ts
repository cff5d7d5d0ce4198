/**
 * Store conformance for rules (src/core/rule.ts): every backend runs these (see sqlite.test.ts
 * and postgres.test.ts). Time is passed explicitly.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { RuleDefinition } from '../../src/core/rule.js';
import { resolveTaskSettings } from '../../src/core/task.js';
import type { Store } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';
import { newJob } from './store-suite.js';

const T0 = Date.UTC(2026, 0, 1);

const rule = (name: string, over = 10): RuleDefinition => ({
  name,
  on: { event: 'task.backlog', over },
  tasks: ['email*'],
  action: { type: 'webhook', url: 'https://hooks.example.com/x', secret: 'whsec_0123456789abcdef' },
  description: null,
});

export function ruleConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance, rules: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
      await store.registerTasks({ tasks: ['email', 'report'].map((n) => ({ name: n, settings: resolveTaskSettings(n, {}) })), now: T0 });
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    it('saves, replaces (keeping the pause), lists by name, pauses and removes rules with their alerts', async () => {
      const saved = await store.saveRule({ rule: rule('b'), now: T0 });
      assert.deepEqual(saved, { ...rule('b'), paused: false, createdAt: T0, updatedAt: T0 });
      await store.saveRule({ rule: rule('a'), now: T0 });
      assert.equal(await store.setRulePaused({ name: 'b', paused: true, now: T0 + 1 }), true);
      const replaced = await store.saveRule({ rule: rule('b', 99), now: T0 + 2 });
      assert.deepEqual([replaced.on, replaced.paused, replaced.createdAt, replaced.updatedAt], [{ event: 'task.backlog', over: 99 }, true, T0, T0 + 2]);
      assert.deepEqual(
        (await store.getRules({})).map((r) => r.name),
        ['a', 'b'],
      );
      assert.deepEqual(
        (await store.getRules({ names: ['b', 'zz'] })).map((r) => r.name),
        ['b'],
      );
      assert.equal(await store.setRulePaused({ name: 'zz', paused: true, now: T0 }), false);
      await store.recordRuleAlert({ rule: 'b', subject: 'email', firing: true, value: 100, job: null, now: T0 });
      assert.equal(await store.removeRule({ name: 'b' }), true);
      assert.equal(await store.removeRule({ name: 'b' }), false);
      assert.deepEqual(await store.getRuleAlerts({}), [], "a removed rule's alerts go with it");
    });

    it('records an alert firing and clearing once, each change with its job in the same write', async () => {
      await store.saveRule({ rule: rule('r'), now: T0 });
      const fire = () => store.recordRuleAlert({ rule: 'r', subject: 'email', firing: true, value: 12.5, job: newJob({ task: 'report' }), now: T0 });
      const first = await fire();
      assert.equal(first.changed, true);
      assert.ok(first.job?.id);
      assert.deepEqual(await fire(), { changed: false, job: null }, 'already firing: nothing written');
      assert.deepEqual(await store.getRuleAlerts({ rule: 'r' }), [{ rule: 'r', subject: 'email', value: 12.5, since: T0 }]);
      const clear = () => store.recordRuleAlert({ rule: 'r', subject: 'email', firing: false, value: 0, job: newJob({ task: 'report' }), now: T0 + 1 });
      assert.equal((await clear()).changed, true);
      assert.deepEqual(await clear(), { changed: false, job: null });
      assert.deepEqual(await store.getRuleAlerts({}), []);
      assert.equal(
        (await store.countJobs({ task: 'report' })).reduce((n, c) => n + c.count, 0),
        2,
        'one job per change',
      );
    });

    it('counts queued jobs with their earliest run time, and finished jobs since a time, per task', async () => {
      await store.insertJobs({ jobs: [newJob({ runAt: T0 + 5 }), newJob({ runAt: T0 - 7 }), newJob({ task: 'report', runAt: T0 })], now: T0 });
      const stats = await store.queueStats({ tasks: ['email', 'nothing'] });
      assert.deepEqual(stats, [{ task: 'email', queued: 2, oldestRunAt: T0 - 7 }]);
      assert.deepEqual(await store.queueStats({ tasks: [] }), []);
      const claimed = await store.claimJobs({ workerId: 'w', tasks: ['email', 'report'], max: 10, leaseMs: 30_000, now: T0 + 10 });
      const [a, b, c] = claimed;
      await store.finishJobs({
        transitions: [
          { to: 'succeeded', id: a.id, token: a.leaseToken, result: null },
          { to: 'failed', id: b.id, token: b.leaseToken, error: JSON.stringify({ message: 'x', attempt: 1, at: '' }) },
        ],
        now: T0 + 20,
      });
      await store.finishJobs({ transitions: [{ to: 'succeeded', id: c.id, token: c.leaseToken, result: null }], now: T0 + 40 });
      const counts = (await store.countFinishedSince({ tasks: ['email', 'report'], since: T0 + 20 })).sort((x, y) => x.task.localeCompare(y.task));
      assert.deepEqual(
        counts.map((r) => [r.task, r.succeeded, r.failed]),
        expectedCounts(claimed),
      );
      assert.deepEqual(await store.countFinishedSince({ tasks: ['email', 'report'], since: T0 + 41 }), []);
    });
  });
}

/** What the finished counts above must be, from which task each claimed job had (claims go by priority and run time). */
function expectedCounts(claimed: { task: string }[]): [string, number, number][] {
  const out = new Map<string, [string, number, number]>();
  const add = (task: string, s: number, f: number) => {
    const row = out.get(task) ?? [task, 0, 0];
    row[1] += s;
    row[2] += f;
    out.set(task, row);
  };
  add(claimed[0].task, 1, 0);
  add(claimed[1].task, 0, 1);
  add(claimed[2].task, 1, 0);
  return [...out.values()].sort((x, y) => x[0].localeCompare(y[0]));
}
