import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointGroupSettings } from '../../src/core/endpoint-group.js';
import { ok } from '../helpers/endpoints.js';
import { nextEvent } from '../helpers/offload.js';
import { groupOf, pushingOffload } from '../helpers/push.js';

const quickRetries = { maxAttempts: 10, backoff: { type: 'fixed' as const, delayMs: 1 } };
const answerAfter =
  (ms: number, result: unknown = 'ok') =>
  async (_req: unknown, res: import('node:http').ServerResponse) => {
    await new Promise((r) => setTimeout(r, ms));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  };

describe('push: health, caps and endpoints that die', () => {
  const pushing = pushingOffload();
  const endpoint = pushing.endpoint;

  it('holds each endpoint to its cap and the group to its own', async () => {
    const a = await endpoint(answerAfter(15));
    const b = await endpoint(answerAfter(15));
    await pushing.t.offload.push.saveGroup(
      groupOf(
        'caps',
        [
          { url: a.url, concurrency: 2 },
          { url: b.url, concurrency: 5 },
        ],
        { concurrency: 4 },
      ),
    );
    const jobs = await Promise.all(Array.from({ length: 60 }, (_, i) => pushing.t.offload.enqueue('caps.job', { i })));
    await Promise.all(jobs.map((j) => j.result({ timeoutMs: 30_000 })));
    assert.ok(a.maxInFlight <= 2, `endpoint a had ${a.maxInFlight} at once (cap 2)`);
    assert.ok(a.maxInFlight + b.maxInFlight >= 3, 'both endpoints took jobs at once');
    assert.equal(a.received.length + b.received.length, 60);
    const view = await pushing.t.offload.push.getGroup('caps');
    assert.deepEqual(Object.values(view.outstanding), [0, 0]);
  });

  it('takes out an endpoint that keeps failing and probes it back in', async () => {
    const good = await endpoint(ok('fine'));
    let broken = true;
    const flaky = await endpoint((_req, res) => void res.writeHead(broken ? 500 : 200).end(broken ? 'down' : '"back"'));
    await pushing.t.offload.push.saveGroup(
      groupOf(
        'health',
        [
          { id: 'flaky', url: flaky.url },
          { id: 'good', url: good.url },
        ],
        {
          health: { failures: 2, probeAfterMs: 100 },
          taskSettings: quickRetries,
          concurrency: 1,
        },
      ),
    );
    const out = nextEvent(pushing.t.offload, 'push:endpoint-out', (e) => e.group === 'health');
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => pushing.t.offload.enqueue('health.job', { i })));
    assert.deepEqual(await out, { group: 'health', endpoint: 'flaky', failures: 2 });
    for (const j of jobs) assert.equal(await j.result({ timeoutMs: 10_000 }), 'fine');
    assert.equal(flaky.received.length, 2, 'nothing more went to the endpoint once it was out');
    const back = nextEvent(pushing.t.offload, 'push:endpoint-in', (e) => e.group === 'health');
    broken = false;
    assert.deepEqual(await back, { group: 'health', endpoint: 'flaky' });
    const more = await Promise.all(Array.from({ length: 4 }, (_, i) => pushing.t.offload.enqueue('health.job', { i })));
    await Promise.all(more.map((j) => j.result({ timeoutMs: 10_000 })));
    assert.ok(flaky.received.length > 2, 'it takes jobs again');
  });

  it('an endpoint that dies mid-run: its jobs are retried on the others, none lost', async () => {
    const doomed = await endpoint(answerAfter(30));
    const survivor = await endpoint(answerAfter(5));
    await pushing.t.offload.push.saveGroup(
      groupOf('dies', [{ url: doomed.url }, { url: survivor.url }], {
        health: { failures: 1, probeAfterMs: 60_000 },
        taskSettings: quickRetries,
        concurrency: 6,
      }),
    );
    const jobs = await Promise.all(Array.from({ length: 40 }, (_, i) => pushing.t.offload.enqueue('dies.job', { i })));
    while (doomed.inFlight === 0) await new Promise((r) => setTimeout(r, 2));
    await doomed.kill();
    const results = await Promise.all(jobs.map((j) => j.result({ timeoutMs: 30_000 })));
    assert.equal(results.length, 40);
    const retried = await Promise.all(jobs.map((j) => pushing.t.offload.getJob(j.id)));
    assert.ok(
      retried.some((j) => j.attempt > 1),
      'the jobs in flight at the dead endpoint ran again',
    );
  });

  it('says which tasks a group has taken and refuses a task bound elsewhere', async () => {
    await pushing.t.offload.push.saveGroup(groupOf('one', [{ url: 'http://127.0.0.1:9/' }], { tasks: ['shared.task'] }));
    await assert.rejects(pushing.t.offload.push.saveGroup(groupOf('two', [{ url: 'http://127.0.0.1:9/' }], { tasks: ['shared.task'] })), {
      code: 'INVALID_ENDPOINT_GROUP',
    });
    await pushing.t.offload.push.removeGroup('one');
    await pushing.t.offload.push.saveGroup(groupOf('two', [{ url: 'http://127.0.0.1:9/' }], { tasks: ['shared.task'] }));
    await pushing.t.offload.push.removeGroup('two');
    await assert.rejects(pushing.t.offload.push.getGroup('two'), { code: 'ENDPOINT_GROUP_NOT_FOUND' });
  });

  it('refuses groups that are not valid, naming what is wrong', async () => {
    const bad = [
      [{ ...groupOf('x', [{ url: 'ftp://example.com' }]) }, /http/],
      [{ ...groupOf('x', [{ url: 'https://example.com' }]), secret: 'short' }, /secret/],
      [{ ...groupOf('x', [{ url: 'https://example.com' }]), balancer: 'fastest' as never }, /balancer/],
      [{ ...groupOf('x', [{ url: 'https://example.com' }]), tasks: [] as string[] }, /tasks/],
    ] as [EndpointGroupSettings, RegExp][];
    for (const [settings, problem] of bad)
      await assert.rejects(pushing.t.offload.push.saveGroup(settings), (err: any) => err.code === 'INVALID_ENDPOINT_GROUP' && problem.test(err.message));
  });
});
