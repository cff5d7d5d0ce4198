import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Endpoint, resolveEndpointGroup } from '../../src/core/endpoint-group.js';
import { EndpointOrder } from '../../src/push/balancer.js';
import { parseIdle } from '../../src/push/endpoint-health.js';
import type { Answer } from '../helpers/endpoints.js';
import { deferred } from '../helpers/offload.js';
import { groupOf, pushingOffload } from '../helpers/push.js';

const endpointsOf = (...weights: number[]): Endpoint[] =>
  resolveEndpointGroup(
    groupOf(
      'g',
      weights.map((weight, i) => ({ id: `e${i}`, url: `http://127.0.0.1/${i}`, weight })),
    ),
  ).endpoints;

const view = (endpoints: Endpoint[], out: string[] = [], idle: Record<string, number> = {}) => ({
  endpoints,
  isOut: (id: string) => out.includes(id),
  idle: (id: string) => idle[id],
});

describe('balancers choose', () => {
  it('round-robin: each endpoint in turn, by weight, spread rather than in runs', () => {
    const order = new EndpointOrder('round-robin');
    const firsts = Array.from({ length: 8 }, () => order.next(view(endpointsOf(1, 1, 2)))[0]);
    assert.deepEqual(firsts, ['e2', 'e0', 'e1', 'e2', 'e2', 'e0', 'e1', 'e2']);
  });

  it('random: by weight (a seeded sequence), never an endpoint that is out', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const order = new EndpointOrder('random', random);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const first = order.next(view(endpointsOf(1, 3, 1), ['e2']))[0];
      counts[first] = (counts[first] ?? 0) + 1;
    }
    assert.equal(counts.e2, undefined);
    assert.ok(counts.e1 > 2800 && counts.e1 < 3200, `e1 first ${counts.e1} of 4000 times (weight 3 of 4)`);
  });

  it('most-idle: the most room first, one that never said before those with none', () => {
    const order = new EndpointOrder('most-idle');
    assert.deepEqual(order.next(view(endpointsOf(1, 1, 1, 1), [], { e0: 2, e2: 7, e3: 0 })), ['e2', 'e0', 'e1', 'e3']);
  });

  it('no endpoint when every one is out', () => {
    assert.deepEqual(new EndpointOrder('round-robin').next(view(endpointsOf(1, 1), ['e0', 'e1'])), []);
  });

  it('reads the room an endpoint reports: a header, JSON, or Apache server-status', () => {
    assert.equal(parseIdle('', '4'), 4);
    assert.equal(parseIdle('{"idle": 3}', undefined), 3);
    assert.equal(parseIdle('Total Accesses: 10\nBusyWorkers: 2\nIdleWorkers: 6\n', undefined), 6);
    assert.equal(parseIdle('<html>', undefined), undefined);
  });
});

describe('balancers against real endpoints', () => {
  const pushing = pushingOffload();
  const endpoint = pushing.endpoint;

  const run = async (task: string, n: number) => {
    const jobs = await Promise.all(Array.from({ length: n }, (_, i) => pushing.t.offload.enqueue(task, { i })));
    await Promise.all(jobs.map((j) => j.result({ timeoutMs: 20_000 })));
  };

  it('round-robin spreads jobs by weight', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    await pushing.t.offload.push.saveGroup(groupOf('rr', [{ url: a.url }, { url: b.url, weight: 3 }]));
    await run('rr.job', 80);
    assert.deepEqual([a.received.length, b.received.length], [20, 60]);
  });

  it('least-outstanding sends to the endpoint with the fewest jobs in hand', async () => {
    const gate = deferred();
    const slow = await endpoint(async (_req, res) => {
      await gate.promise;
      res.writeHead(200).end();
    });
    const fast = await endpoint();
    await pushing.t.offload.push.saveGroup(groupOf('least', [{ url: slow.url }, { url: fast.url }], { balancer: 'least-outstanding', concurrency: 4 }));
    const done = run('least.job', 40);
    // The slow endpoint holds what it got; every other job goes where nothing waits.
    while (slow.received.length + fast.received.length < 40) await new Promise((r) => setTimeout(r, 5));
    assert.ok(slow.received.length <= 3, `the slow endpoint got ${slow.received.length} of 40`);
    gate.resolve();
    await done;
  });

  it('most-idle sends to the endpoint that reports the most room', async () => {
    const busy = await endpoint((_req, res) => res.writeHead(200, { 'offload-idle': '0' }).end());
    const idle = await endpoint((_req, res) => res.writeHead(200, { 'offload-idle': '50' }).end());
    await pushing.t.offload.push.saveGroup(groupOf('idle', [{ url: busy.url }, { url: idle.url }], { balancer: 'most-idle', concurrency: 1 }));
    await run('idle.job', 30);
    assert.ok(busy.received.length <= 1, `the busy endpoint got ${busy.received.length} of 30`);
  });

  it('most-idle reads the room from a status URL (Apache server-status?auto)', async () => {
    const status =
      (idle: number): Answer =>
      (_req, res) =>
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`BusyWorkers: 1\nIdleWorkers: ${idle}\n`);
    const a = await endpoint();
    const b = await endpoint();
    const aStatus = await endpoint(status(0));
    const bStatus = await endpoint(status(20));
    await pushing.t.offload.push.saveGroup(
      groupOf(
        'apache',
        [
          { url: a.url, statusUrl: aStatus.url },
          { url: b.url, statusUrl: bStatus.url },
        ],
        { balancer: 'most-idle', concurrency: 1 },
      ),
    );
    const dispatcher = pushing.t.offload.push.dispatcher('apache')!;
    while (dispatcher.health.status().some((s) => s.idle === null)) await new Promise((r) => setTimeout(r, 20));
    await run('apache.job', 10);
    assert.deepEqual([a.received.length, b.received.length], [0, 10]);
  });
});
