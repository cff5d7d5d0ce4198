/** GET /v1/throughput: jobs finished per task and minute, one series per task, and GET /v1/tasks counts, from the counters the store keeps. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestApi, type TestApi } from '../helpers/http.js';

describe('HTTP API: throughput', () => {
  let t: TestApi;
  beforeEach(async () => {
    t = await openTestApi();
  });
  afterEach(async () => {
    await t.dispose();
  });

  /** Submits `n` jobs of `task`, claims them and ends them: `ok` succeed, then one failed for good, then one retried. */
  async function finish(task: string, ok: number, opts: { failed?: boolean; retried?: boolean } = {}): Promise<void> {
    const n = ok + (opts.failed ? 1 : 0) + (opts.retried ? 1 : 0);
    for (let i = 0; i < n; i++) assert.equal((await t.call('POST', '/v1/jobs', { body: { task, input: i } })).status, 201);
    const { jobs } = (await t.call('POST', '/v1/claim', { body: { tasks: [task], max: n } })).json;
    assert.equal(jobs.length, n);
    for (const [i, j] of jobs.entries()) {
      const body = i < ok ? { leaseToken: j.leaseToken, result: 'done' } : { leaseToken: j.leaseToken, error: 'boom', retryable: !(opts.failed && i === ok) };
      const r = await t.call('POST', `/v1/jobs/${j.id}/${i < ok ? 'complete' : 'fail'}`, { body });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  }

  it('answers per task and minute, oldest first, for the minutes asked for', async () => {
    const start = t.clock.now() - (t.clock.now() % 60_000);
    await finish('t.echo', 2, { failed: true, retried: true });
    await t.clock.advance(60_000);
    await finish('t.echo', 1);
    await finish('t.other', 0, { failed: true });
    const r = await t.call('GET', '/v1/throughput?minutes=60');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.since, new Date(start - 58 * 60_000).toISOString(), 'the current minute is the 60th');
    assert.equal(r.json.minutes, 60);
    // One number per minute, oldest first: the first minute of the jobs is the 59th, the current one the 60th.
    const series = (values: [number, number]) => [...new Array(58).fill(0), ...values];
    assert.deepEqual(r.json.tasks, [
      { task: 't.echo', succeeded: series([2, 1]), failed: series([1, 0]), retried: series([1, 0]) },
      { task: 't.other', succeeded: series([0, 0]), failed: series([0, 1]), retried: series([0, 0]) },
    ]);
    const current = (await t.call('GET', '/v1/throughput?minutes=1')).json;
    assert.deepEqual(
      current.tasks.map((s: { task: string; succeeded: number[] }) => [s.task, s.succeeded]),
      [
        ['t.echo', [1]],
        ['t.other', [0]],
      ],
      'the current minute only',
    );
    assert.deepEqual(
      (await t.call('GET', '/v1/throughput?task=t.other')).json.tasks.map((s: { task: string }) => s.task),
      ['t.other'],
    );
    const counts = (await t.call('GET', '/v1/tasks')).json.tasks.find((c: { task: string }) => c.task === 't.echo');
    assert.deepEqual([counts.queued, counts.succeeded, counts.failed], [1, 3, 1], 'the retried job is queued again');
  });

  it('shows a token only the tasks its patterns match, and refuses a task outside them', async () => {
    await finish('t.echo', 1);
    await finish('t.other', 1);
    const read = await t.token('read', ['t.echo']);
    const r = await t.call('GET', '/v1/throughput', { token: read });
    assert.deepEqual(
      r.json.tasks.map((s: { task: string }) => s.task),
      ['t.echo'],
    );
    const outside = await t.call('GET', '/v1/throughput?task=t.other', { token: read });
    assert.deepEqual([outside.status, outside.json.error.code], [403, 'FORBIDDEN']);
  });

  it('refuses minutes beyond a day, naming the field', async () => {
    const r = await t.call('GET', '/v1/throughput?minutes=1441');
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.json.error), /minutes/);
  });
});
