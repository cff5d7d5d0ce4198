/** Every route of the HTTP API, in process (`inject()`), with responses checked against their schemas. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestApi, type TestApi } from '../helpers/http.js';

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(async () => {
    t = await openTestApi();
  });
  afterEach(async () => {
    await t.dispose();
  });

  const submit = async (body: unknown, query = '') => t.call('POST', `/v1/jobs${query}`, { body });
  const claim = async (body: Record<string, unknown>) => t.call('POST', '/v1/claim', { body });

  describe('POST /v1/jobs', () => {
    it("answers 201 with the job, in the CLI's --json shape", async () => {
      const r = await submit({ task: 't.echo', input: { a: 1 }, priority: 5, maxAttempts: 2 });
      assert.equal(r.status, 201);
      assert.deepEqual(Object.keys(r.json.job).slice(0, 13), [
        'id',
        'task',
        'state',
        'input',
        'result',
        'error',
        'attempt',
        'maxAttempts',
        'priority',
        'progress',
        'createdAt',
        'startedAt',
        'finishedAt',
      ]);
      assert.equal(typeof r.json.job.id, 'string');
      assert.deepEqual([r.json.job.task, r.json.job.state, r.json.job.priority, r.json.job.maxAttempts, r.json.job.origin], ['t.echo', 'queued', 5, 2, 'http']);
      assert.deepEqual(r.json.job.input, { a: 1 });
    });

    it('answers 200 with the existing job when the unique key matches', async () => {
      const first = await submit({ task: 't.echo', input: 1, uniqueKey: 'k' });
      const again = await submit({ task: 't.echo', input: 2, uniqueKey: 'k' });
      assert.deepEqual([first.status, again.status], [201, 200]);
      assert.equal(again.json.job.id, first.json.job.id);
    });

    it('debounces: a second submit with the key gives the queued job its input; debounceMs needs a unique key', async () => {
      const first = await submit({ task: 't.echo', input: 1, uniqueKey: 'doc-1', debounceMs: 5000 });
      const again = await submit({ task: 't.echo', input: 2, uniqueKey: 'doc-1', debounceMs: 5000 });
      assert.deepEqual([first.status, again.status, again.json.job.id], [201, 200, first.json.job.id]);
      assert.equal(again.json.job.input, 2);
      const lone = await submit({ task: 't.echo', input: 3, debounceMs: 5000 });
      assert.deepEqual([lone.status, lone.json.error.code], [400, 'INVALID_OPTION']);
    });

    it('stores a submission with an Idempotency-Key once, and answers a repeat with its jobs', async () => {
      const key = { 'idempotency-key': 'order-1234' };
      const first = await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: { n: 1 } }, headers: key });
      const again = await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: { n: 1 } }, headers: key });
      assert.deepEqual([first.status, first.headers['idempotent-replayed'], again.status, again.headers['idempotent-replayed']], [201, undefined, 200, 'true']);
      assert.equal(again.json.job.id, first.json.job.id);
      const reused = await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: { n: 2 } }, headers: key });
      assert.deepEqual([reused.status, reused.json.error.code, reused.json.error.details.jobIds], [422, 'IDEMPOTENCY_KEY_REUSED', [first.json.job.id]]);
      const many = {
        body: [
          { task: 't.echo', input: 1 },
          { task: 't.other', input: 2 },
        ],
        headers: { 'idempotency-key': 'import-7' },
      };
      const [m1, m2] = [await t.call('POST', '/v1/jobs', many), await t.call('POST', '/v1/jobs', many)];
      assert.deepEqual([m1.status, m2.status], [201, 200]);
      assert.deepEqual(
        m2.json.jobs.map((j: { id: string }) => j.id),
        m1.json.jobs.map((j: { id: string }) => j.id),
      );
      const batch = { body: { title: 'nightly', jobs: [{ task: 't.echo', input: 1 }] }, headers: { 'idempotency-key': 'nightly-2026-12-02' } };
      const [b1, b2] = [await t.call('POST', '/v1/batches', batch), await t.call('POST', '/v1/batches', batch)];
      assert.deepEqual([b1.status, b2.status, b2.headers['idempotent-replayed']], [201, 200, 'true']);
      assert.equal(b2.json.batch.id, b1.json.batch.id);
      assert.equal((await t.offload.listJobs({ limit: 100 })).jobs.length, 4, 'one job, two jobs, one batch member');
    });

    it("keeps each token's idempotency keys apart, and refuses a key that is not 1–255 visible characters", async () => {
      const [a, b] = [await t.token('submit'), await t.token('submit')];
      const send = (token: string, key: string) =>
        t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 }, token, headers: { 'idempotency-key': key } });
      const [ra, rb] = [await send(a, 'k'), await send(b, 'k')];
      assert.deepEqual([ra.status, rb.status], [201, 201]);
      assert.notEqual(ra.json.job.id, rb.json.job.id);
      for (const bad of ['x'.repeat(256), 'has space']) {
        const r = await send(a, bad);
        assert.deepEqual([r.status, r.json.error.code], [400, 'INVALID_REQUEST'], bad);
      }
    });

    it('takes delayMs and runAt (ISO or epoch ms), but not both', async () => {
      const delayed = await submit({ task: 't.echo', input: null, delayMs: 60_000 });
      assert.equal(Date.parse(delayed.json.job.runAt), t.clock.now() + 60_000);
      const at = await submit({ task: 't.echo', input: null, runAt: '2030-01-01T00:00:00Z' });
      assert.equal(at.json.job.runAt, '2030-01-01T00:00:00.000Z');
      const ms = await submit({ task: 't.echo', input: null, runAt: Date.UTC(2031, 0, 1) });
      assert.equal(ms.json.job.runAt, '2031-01-01T00:00:00.000Z');
      const both = await submit({ task: 't.echo', input: null, runAt: 1, delayMs: 1 });
      assert.equal(both.status, 400);
      assert.equal(both.json.error.code, 'INVALID_OPTION');
    });

    it('submits an array in one transaction: all or none', async () => {
      const r = await submit([
        { task: 't.echo', input: 1 },
        { task: 't.other', input: 2, uniqueKey: 'u' },
      ]);
      assert.equal(r.status, 201);
      assert.deepEqual(
        r.json.jobs.map((j: { task: string }) => j.task),
        ['t.echo', 't.other'],
      );
      assert.deepEqual(r.json.deduplicated, [false, false]);
      const dup = await submit([{ task: 't.other', input: 3, uniqueKey: 'u' }]);
      assert.deepEqual([dup.status, dup.json.deduplicated], [200, [true]]);
      const bad = await submit([
        { task: 't.echo', input: 1 },
        { task: 't.schema', input: { n: 'x' } },
      ]);
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.code, 'INVALID_INPUT');
      const counts = await t.offload.counts();
      assert.equal(counts.find((c) => c.task === 't.echo')!.queued, 1, 'the valid job of the refused array was not stored');
    });

    it('refuses more jobs per request than the limit', async () => {
      await t.dispose();
      t = await openTestApi({ maxJobsPerRequest: 2 });
      const r = await submit([1, 2, 3].map((n) => ({ task: 't.echo', input: n })));
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /at most 2/);
    });

    it('?wait answers 200 with the finished job', async () => {
      await t.offload.work({ concurrency: 2, maintenance: false });
      const r = await submit({ task: 't.echo', input: { hello: 'world' } }, '?wait=30');
      assert.equal(r.status, 200);
      assert.deepEqual([r.json.job.state, r.json.job.result], ['succeeded', { hello: 'world' }]);
      const many = await submit(
        [
          { task: 't.echo', input: 1 },
          { task: 't.echo', input: 2 },
        ],
        '?wait=30',
      );
      assert.deepEqual([many.status, many.json.jobs.map((j: { result: number }) => j.result)], [200, [1, 2]]);
    });

    it('?wait answers 202 with the job as it stands when the wait ends first', async () => {
      const pending = submit({ task: 't.echo', input: 1 }, '?wait=2');
      await t.waitForLongRequests(1);
      await t.clock.advance(2000);
      const r = await pending;
      assert.deepEqual([r.status, r.json.job.state], [202, 'queued']);
      assert.equal(t.api.openLongRequests(), 0);
    });
  });

  describe('reading and acting', () => {
    it('GET /v1/jobs/:id reads a job; a missing one is 404 JOB_NOT_FOUND', async () => {
      const { json } = await submit({ task: 't.echo', input: 'x' });
      const r = await t.call('GET', `/v1/jobs/${json.job.id}`);
      assert.deepEqual([r.status, r.json.job.id, r.json.job.input], [200, json.job.id, 'x']);
      const missing = await t.call('GET', '/v1/jobs/999999');
      assert.deepEqual([missing.status, missing.json.error.code], [404, 'JOB_NOT_FOUND']);
    });

    it('GET /v1/jobs/:id?wait holds until the job finishes', async () => {
      const { json } = await submit({ task: 't.echo', input: 'x' });
      const pending = t.call('GET', `/v1/jobs/${json.job.id}?wait=10`);
      await t.waitForLongRequests(1);
      const [job] = await t.offload.claim({ tasks: ['t.echo'] });
      await t.offload.complete(job!.id, { leaseToken: job!.leaseToken, result: 'done' });
      const r = await pending;
      assert.deepEqual([r.status, r.json.job.state, r.json.job.result], [200, 'succeeded', 'done']);
    });

    it('GET /v1/jobs lists newest first with filters and a cursor', async () => {
      for (let i = 0; i < 3; i++) await submit({ task: 't.echo', input: i });
      await submit({ task: 't.other', input: null });
      const page1 = await t.call('GET', '/v1/jobs?task=t.echo&state=queued&limit=2');
      assert.deepEqual(
        page1.json.jobs.map((j: { input: number }) => j.input),
        [2, 1],
      );
      assert.equal(typeof page1.json.nextCursor, 'string');
      const page2 = await t.call('GET', `/v1/jobs?task=t.echo&limit=2&cursor=${page1.json.nextCursor}`);
      assert.deepEqual([page2.json.jobs.map((j: { input: number }) => j.input), page2.json.nextCursor], [[0], null]);
      const bad = await t.call('GET', '/v1/jobs?cursor=nonsense');
      assert.deepEqual([bad.status, bad.json.error.code], [400, 'INVALID_CURSOR']);
      const badState = await t.call('GET', '/v1/jobs?state=sleeping');
      assert.deepEqual([badState.status, badState.json.error.code, badState.json.error.details.field], [400, 'INVALID_REQUEST', 'query.state']);
      const badLimit = await t.call('GET', '/v1/jobs?limit=5000');
      assert.deepEqual([badLimit.status, badLimit.json.error.details.field], [400, 'query.limit']);
    });

    it('cancel and retry; each in the wrong state is 409 INVALID_STATE', async () => {
      const { json } = await submit({ task: 't.echo', input: 1 });
      const cancelled = await t.call('POST', `/v1/jobs/${json.job.id}/cancel`);
      assert.deepEqual([cancelled.status, cancelled.json.job.state], [200, 'cancelled']);
      const retried = await t.call('POST', `/v1/jobs/${json.job.id}/retry`, { body: {} });
      assert.deepEqual([retried.status, retried.json.job.state], [200, 'queued']);
      const again = await t.call('POST', `/v1/jobs/${json.job.id}/retry`);
      assert.deepEqual([again.status, again.json.error.code], [409, 'INVALID_STATE']);
      const missing = await t.call('POST', '/v1/jobs/424242/cancel');
      assert.deepEqual([missing.status, missing.json.error.code], [404, 'JOB_NOT_FOUND']);
    });
  });

  describe('agents', () => {
    it('claim → heartbeat with progress → complete', async () => {
      const { json } = await submit({ task: 't.echo', input: { n: 1 } });
      const c = await claim({ tasks: ['t.echo'], workerId: 'py-1', leaseMs: 10_000 });
      assert.equal(c.status, 200);
      const [job] = c.json.jobs;
      assert.deepEqual([job.id, job.task, job.input, job.attempt], [json.job.id, 't.echo', { n: 1 }, 1]);
      assert.equal(Date.parse(job.leaseExpiresAt), t.clock.now() + 10_000);
      const hb = await t.call('POST', `/v1/jobs/${job.id}/heartbeat`, {
        body: { leaseToken: job.leaseToken, progress: { done: 1, total: 2, message: 'half' } },
      });
      assert.deepEqual([hb.status, Date.parse(hb.json.leaseExpiresAt)], [200, t.clock.now() + 30_000]);
      assert.deepEqual((await t.offload.getJob(job.id)).progress, { done: 1, total: 2, message: 'half' });
      const done = await t.call('POST', `/v1/jobs/${job.id}/complete`, { body: { leaseToken: job.leaseToken, result: { ok: true } } });
      assert.deepEqual(done.json, { id: job.id, state: 'succeeded', runAt: null });
      const read = await t.offload.getJob(job.id);
      assert.deepEqual([read.state, read.result, read.workerId], ['succeeded', { ok: true }, 'py-1']);
    });

    it('answers a complete sent again with the same token and result as recorded (its first answer was lost)', async () => {
      await submit({ task: 't.echo', input: 1 });
      const [job] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      const body = { leaseToken: job.leaseToken, result: { pages: 2 } };
      const first = await t.call('POST', `/v1/jobs/${job.id}/complete`, { body });
      const again = await t.call('POST', `/v1/jobs/${job.id}/complete`, { body });
      assert.deepEqual([first.status, again.status, again.json], [200, 200, { id: job.id, state: 'succeeded', runAt: null }]);
      const other = await t.call('POST', `/v1/jobs/${job.id}/complete`, { body: { leaseToken: job.leaseToken, result: { pages: 3 } } });
      assert.deepEqual([other.status, other.json.error.code, other.json.error.details], [409, 'LEASE_LOST', { id: job.id, state: 'succeeded' }]);
      assert.deepEqual((await t.offload.getJob(job.id)).result, { pages: 2 });
    });

    it('finishes many jobs in one request, each with its own result, and claims the next ones with them', async () => {
      for (let n = 1; n <= 5; n++) await submit({ task: 't.echo', input: n, maxAttempts: 3 });
      const held = (await claim({ tasks: ['t.echo'], max: 4, workerId: 'py-1' })).json.jobs;
      const [a, b, c, d] = held;
      const r = await t.call('POST', '/v1/jobs/finish', {
        body: {
          outcomes: [
            { id: a.id, outcome: 'complete', leaseToken: a.leaseToken, result: { n: 1 } },
            { id: b.id, outcome: 'fail', leaseToken: b.leaseToken, error: { message: 'flaky', code: 'E_NET' }, retryInMs: 1000 },
            { id: c.id, outcome: 'release', leaseToken: c.leaseToken, delayMs: 500 },
            { id: d.id, outcome: 'complete', leaseToken: '12345', result: null },
          ],
          claim: { tasks: ['t.echo'], max: 3, workerId: 'py-1' },
        },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.results.slice(0, 3), [
        { id: a.id, state: 'succeeded', runAt: null },
        { id: b.id, state: 'queued', runAt: new Date(t.clock.now() + 1000).toISOString() },
        { id: c.id, state: 'queued', runAt: new Date(t.clock.now() + 500).toISOString() },
      ]);
      assert.deepEqual([r.json.results[3].id, r.json.results[3].error.code, r.json.results[3].error.details.state], [d.id, 'LEASE_LOST', 'running']);
      assert.deepEqual(
        r.json.jobs.map((j: { input: number }) => j.input),
        [5],
        'the one runnable job, claimed in the same request',
      );
      assert.deepEqual((await t.offload.getJob(a.id)).result, { n: 1 });
      assert.equal((await t.offload.getJob(b.id)).error?.code, 'E_NET');
      // Sent again (its answer lost): the complete stands, the others are stale now.
      const again = await t.call('POST', '/v1/jobs/finish', {
        body: { outcomes: [{ id: a.id, outcome: 'complete', leaseToken: a.leaseToken, result: { n: 1 } }] },
      });
      assert.deepEqual(again.json, { results: [{ id: a.id, state: 'succeeded', runAt: null }], jobs: [] });
    });

    it('with claim.waitMs, holds the request after recording the outcomes until a job is runnable', async () => {
      await submit({ task: 't.echo', input: 1 });
      const [a] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      const pending = t.call('POST', '/v1/jobs/finish', {
        body: { outcomes: [{ id: a.id, outcome: 'complete', leaseToken: a.leaseToken, result: 'one' }], claim: { tasks: ['t.echo'], waitMs: 30_000 } },
      });
      await t.waitForLongRequests(1);
      assert.equal((await t.offload.getJob(a.id)).state, 'succeeded', 'recorded before the wait');
      const next = await submit({ task: 't.echo', input: 2 });
      const r = await pending;
      assert.deepEqual([r.json.results[0].state, r.json.jobs.map((j: { id: string }) => j.id)], ['succeeded', [next.json.job.id]]);
    });

    it("refuses, one by one, outcomes of jobs outside a token's task patterns", async () => {
      const token = await t.token('work', ['t.echo']);
      await submit({ task: 't.echo', input: 1 });
      await submit({ task: 't.other', input: 2 });
      const [mine] = (await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'] }, token })).json.jobs;
      const [theirs] = (await claim({ tasks: ['t.other'] })).json.jobs;
      const r = await t.call('POST', '/v1/jobs/finish', {
        token,
        body: {
          outcomes: [
            { id: theirs.id, outcome: 'complete', leaseToken: theirs.leaseToken, result: 'stolen' },
            { id: mine.id, outcome: 'complete', leaseToken: mine.leaseToken, result: 'mine' },
          ],
        },
      });
      assert.deepEqual([r.json.results[0].error.code, r.json.results[1].state], ['FORBIDDEN', 'succeeded']);
      assert.equal((await t.offload.getJob(theirs.id)).state, 'running');
    });

    it('a stale lease token gets 409 LEASE_LOST on heartbeat, complete, fail and release', async () => {
      await submit({ task: 't.echo', input: 1 });
      const [job] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      for (const action of ['heartbeat', 'complete', 'fail', 'release']) {
        const body = action === 'fail' ? { leaseToken: '12345', error: 'x' } : { leaseToken: '12345' };
        const r = await t.call('POST', `/v1/jobs/${job.id}/${action}`, { body });
        assert.deepEqual([r.status, r.json.error.code, r.json.error.details], [409, 'LEASE_LOST', { id: job.id, state: 'running' }], action);
      }
      assert.equal((await t.offload.getJob(job.id)).state, 'running');
    });

    it('LEASE_LOST says when the job was cancelled, so an agent can tell why it lost it', async () => {
      await submit({ task: 't.echo', input: 1 });
      const [job] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      await t.call('POST', `/v1/jobs/${job.id}/cancel`);
      const r = await t.call('POST', `/v1/jobs/${job.id}/heartbeat`, { body: { leaseToken: job.leaseToken } });
      assert.deepEqual([r.status, r.json.error.code, r.json.error.details], [409, 'LEASE_LOST', { id: job.id, state: 'cancelled' }]);
      assert.match(r.json.error.message, /was cancelled/);
    });

    it('fail retries with backoff, or fails at once with retryable: false', async () => {
      await submit({ task: 't.echo', input: 1, maxAttempts: 3 });
      const [a] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      const retry = await t.call('POST', `/v1/jobs/${a.id}/fail`, {
        body: { leaseToken: a.leaseToken, error: { message: 'boom', code: 'E_PY' }, retryInMs: 5000 },
      });
      assert.deepEqual([retry.json.state, Date.parse(retry.json.runAt)], ['queued', t.clock.now() + 5000]);
      await t.clock.advance(5000);
      const [b] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      assert.equal(b.attempt, 2);
      const dead = await t.call('POST', `/v1/jobs/${b.id}/fail`, { body: { leaseToken: b.leaseToken, error: 'fatal', retryable: false } });
      assert.deepEqual(dead.json, { id: b.id, state: 'failed', runAt: null });
      const job = await t.offload.getJob(b.id);
      assert.deepEqual([job.error?.message, job.errors[0]?.code], ['fatal', 'E_PY']);
    });

    it('release gives the job back without counting the attempt', async () => {
      await submit({ task: 't.echo', input: 1 });
      const [a] = (await claim({ tasks: ['t.echo'] })).json.jobs;
      const r = await t.call('POST', `/v1/jobs/${a.id}/release`, { body: { leaseToken: a.leaseToken, delayMs: 1000 } });
      assert.deepEqual([r.json.state, Date.parse(r.json.runAt)], ['queued', t.clock.now() + 1000]);
      assert.deepEqual((await claim({ tasks: ['t.echo'] })).json.jobs, []);
      await t.clock.advance(1000);
      assert.equal((await claim({ tasks: ['t.echo'] })).json.jobs[0].attempt, 1);
    });

    it('claim takes up to max jobs, and an agent claiming shows up as an http worker', async () => {
      for (let i = 0; i < 3; i++) await submit({ task: 't.echo', input: i });
      const r = await claim({ tasks: ['t.echo'], max: 2, workerId: 'java-7' });
      assert.equal(r.json.jobs.length, 2);
      const workers = (await t.call('GET', '/v1/workers')).json.workers;
      const agent = workers.find((w: { id: string }) => w.id === 'java-7');
      assert.deepEqual([agent.kind, agent.tasks, agent.concurrency], ['http', ['t.echo'], 2]);
    });

    it('claiming a task no process defined registers it, so producers can submit to it', async () => {
      assert.equal((await submit({ task: 'py.only', input: 1 })).json.error.code, 'UNKNOWN_TASK');
      assert.deepEqual((await claim({ tasks: ['py.only'] })).json.jobs, []);
      assert.equal((await submit({ task: 'py.only', input: 1 })).status, 201);
    });

    it('a long-polled claim is woken by a submission, not by time passing', async () => {
      const pending = claim({ tasks: ['t.echo'], waitMs: 30_000 });
      await t.waitForLongRequests(1);
      const { json } = await submit({ task: 't.echo', input: 'wake' });
      const r = await pending;
      assert.deepEqual(
        r.json.jobs.map((j: { id: string }) => j.id),
        [json.job.id],
      );
    });

    it('a long-polled claim wakes when a delayed job falls due, and ends empty at waitMs', async () => {
      await submit({ task: 't.echo', input: 'later', delayMs: 3000 });
      const pending = claim({ tasks: ['t.echo'], waitMs: 10_000 });
      await t.waitForLongRequests(1);
      await t.clock.advance(3000);
      assert.equal((await pending).json.jobs[0].input, 'later');
      const empty = claim({ tasks: ['t.echo'], waitMs: 10_000 });
      await t.waitForLongRequests(1);
      await t.clock.advance(10_000);
      assert.deepEqual((await empty).json.jobs, []);
    });

    it('long polls are capped by maxLongPollMs and counted per caller', async () => {
      await t.dispose();
      t = await openTestApi({ maxLongPollMs: 1000, maxOpenLongPolls: 1 });
      const first = claim({ tasks: ['t.echo'], waitMs: 600_000 });
      await t.waitForLongRequests(1);
      const second = await claim({ tasks: ['t.echo'], waitMs: 1000 });
      assert.deepEqual([second.status, second.json.error.code, second.headers['retry-after']], [429, 'RATE_LIMITED', '1']);
      assert.equal((await claim({ tasks: ['t.echo'] })).status, 200, 'a claim that does not wait is not limited');
      await t.clock.advance(1000);
      assert.deepEqual((await first).json.jobs, []);
    });
  });

  describe('batches, tasks, workers, health, OpenAPI', () => {
    it('POST /v1/batches and GET /v1/batches/:id', async () => {
      const r = await t.call('POST', '/v1/batches', {
        body: {
          title: 'two',
          jobs: [
            { task: 't.echo', input: 1 },
            { task: 't.echo', input: 2 },
          ],
          onFinish: { task: 't.other' },
        },
      });
      assert.equal(r.status, 201);
      assert.deepEqual([r.json.batch.title, r.json.batch.total, r.json.batch.state, r.json.jobs.length], ['two', 2, 'running', 2]);
      assert.equal(r.json.jobs[0].batchId, r.json.batch.id);
      for (const job of (await claim({ tasks: ['t.echo'], max: 2 })).json.jobs) {
        await t.call('POST', `/v1/jobs/${job.id}/complete`, { body: { leaseToken: job.leaseToken, result: null } });
      }
      const b = await t.call('GET', `/v1/batches/${r.json.batch.id}`);
      assert.deepEqual([b.json.batch.state, b.json.batch.ok, b.json.batch.succeeded], ['finished', true, 2]);
      const onFinish = await t.call('GET', `/v1/jobs/${b.json.batch.onFinishJobId}`);
      assert.equal(onFinish.json.job.task, 't.other');
      const missing = await t.call('GET', '/v1/batches/999');
      assert.deepEqual([missing.status, missing.json.error.code], [404, 'BATCH_NOT_FOUND']);
      const badId = await t.call('GET', '/v1/batches/x1');
      assert.deepEqual([badId.status, badId.json.error.code, badId.json.error.details.kind], [400, 'INVALID_ID', 'batch']);
    });

    it('GET /v1/batches lists batches and flows newest first, by cursor; a narrowed token reads them by id only', async () => {
      const made: string[] = [];
      for (const title of ['first', 'second', 'third']) {
        const r = await t.call('POST', '/v1/batches', { body: { title, jobs: [{ task: 't.echo', input: title }] } });
        made.push(r.json.batch.id);
      }
      const page = await t.call('GET', '/v1/batches?limit=2');
      assert.equal(page.status, 200);
      assert.deepEqual(
        page.json.batches.map((b: { id: string; title: string }) => [b.id, b.title]),
        [
          [made[2], 'third'],
          [made[1], 'second'],
        ],
      );
      const rest = await t.call('GET', `/v1/batches?limit=2&cursor=${page.json.nextCursor}`);
      assert.deepEqual([rest.json.batches.map((b: { id: string }) => b.id), rest.json.nextCursor], [[made[0]], null]);
      const narrowed = await t.call('GET', '/v1/batches', { token: await t.token('read', ['t.echo']) });
      assert.deepEqual([narrowed.status, narrowed.json.error.code], [403, 'FORBIDDEN']);
    });

    it('POST /v1/batches?wait is a foreground batch: 200 once every job has finished, with ok', async () => {
      await t.offload.work({ concurrency: 2, maintenance: false });
      const good = await t.call('POST', '/v1/batches?wait=30', { body: { jobs: [{ task: 't.schema', input: { n: 1 } }] } });
      assert.deepEqual([good.status, good.json.batch.state, good.json.batch.ok, good.json.failures], [200, 'finished', true, []]);
    });

    it('GET /v1/batches/:id?wait holds until the batch has finished, and lists what failed; 202 from POST when the wait ends first', async () => {
      const posted = t.call('POST', '/v1/batches?wait=2', {
        body: {
          jobs: [
            { task: 't.echo', input: 1 },
            { task: 't.echo', input: 2 },
          ],
        },
      });
      await t.waitForLongRequests(1);
      await t.clock.advance(2000);
      const r = await posted;
      assert.deepEqual([r.status, r.json.batch.state, r.json.failures], [202, 'running', []]);
      const watching = t.call('GET', `/v1/batches/${r.json.batch.id}?wait=30`);
      await t.waitForLongRequests(1);
      const [a, b] = await t.offload.claim({ tasks: ['t.echo'], max: 2 });
      await t.offload.complete(a!.id, { leaseToken: a!.leaseToken, result: 'ok' });
      await t.offload.fail(b!.id, { leaseToken: b!.leaseToken, error: { message: 'no good', code: 'BAD' }, retryable: false });
      const w = await watching;
      assert.deepEqual([w.status, w.json.batch.state, w.json.batch.ok, w.json.batch.failed], [200, 'finished', false, 1]);
      assert.deepEqual(w.json.failures, [{ id: b!.id, task: 't.echo', state: 'failed', error: { message: 'no good', code: 'BAD' } }]);
    });

    it('GET /v1/tasks counts per task and state; DELETE /v1/tasks/:task/jobs purges', async () => {
      await submit([
        { task: 't.echo', input: 1 },
        { task: 't.echo', input: 2 },
      ]);
      const counts = (await t.call('GET', '/v1/tasks')).json.tasks;
      assert.deepEqual(
        counts.find((c: { task: string }) => c.task === 't.echo'),
        { task: 't.echo', waiting: 0, queued: 2, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null },
      );
      const purged = await t.call('DELETE', '/v1/tasks/t.echo/jobs?state=queued,failed');
      assert.deepEqual(purged.json, { task: 't.echo', deleted: 2 });
      const unknown = await t.call('DELETE', '/v1/tasks/nope/jobs');
      assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'UNKNOWN_TASK']);
      const running = await t.call('DELETE', '/v1/tasks/t.echo/jobs?state=running');
      assert.equal(running.status, 400);
    });

    it('GET /v1/health and GET /openapi.json', async () => {
      const h = await t.call('GET', '/v1/health');
      assert.deepEqual([h.status, h.json.ok, typeof h.json.version], [200, true, 'string']);
      const doc = (await t.call('GET', '/openapi.json')).json;
      assert.equal(doc.openapi, '3.1.0');
      const routes = Object.entries(doc.paths as Record<string, object>)
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      assert.deepEqual(
        routes,
        [
          'DELETE /v1/endpoint-groups/{name}',
          'GET /v1/endpoint-groups',
          'GET /v1/endpoint-groups/{name}',
          'PUT /v1/endpoint-groups/{name}',
          'POST /v1/push/jobs/{id}/progress',
          'POST /v1/push/jobs/{id}/complete',
          'POST /v1/push/jobs/{id}/fail',
          'DELETE /v1/rules/{name}',
          'DELETE /v1/schedules/{name}',
          'DELETE /v1/tasks/{task}/jobs',
          'GET /metrics',
          'GET /openapi.json',
          'GET /v1/alerts',
          'GET /v1/batches',
          'GET /v1/batches/{id}',
          'GET /v1/events',
          'GET /v1/flows/{id}',
          'GET /v1/health',
          'GET /v1/jobs',
          'GET /v1/jobs/{id}',
          'GET /v1/rules',
          'GET /v1/rules/{name}',
          'GET /v1/schedules',
          'GET /v1/schedules/{name}',
          'GET /v1/tasks',
          'GET /v1/throughput',
          'GET /v1/workers',
          'POST /v1/batches',
          'POST /v1/claim',
          'POST /v1/flows',
          'POST /v1/flows/{id}/cancel',
          'POST /v1/jobs',
          'POST /v1/jobs/finish',
          'POST /v1/jobs/{id}/cancel',
          'POST /v1/jobs/{id}/complete',
          'POST /v1/jobs/{id}/fail',
          'POST /v1/jobs/{id}/heartbeat',
          'POST /v1/jobs/{id}/release',
          'POST /v1/jobs/{id}/retry',
          'POST /v1/rules/{name}/pause',
          'POST /v1/rules/{name}/resume',
          'POST /v1/schedules/{name}/pause',
          'POST /v1/schedules/{name}/resume',
          'POST /v1/schedules/{name}/run',
          'POST /v1/tasks/{task}/resume',
          'POST /v1/tasks/{task}/suspend',
          'PUT /v1/rules/{name}',
          'PUT /v1/schedules/{name}',
          'PUT /v1/tasks/{task}',
          'POST /v1/jobs/bulk',
          'GET /v1/errors',
          'POST /v1/workers/{id}/stop',
          'GET /v1/tokens',
          'POST /v1/tokens',
          'DELETE /v1/tokens/{name}',
          'GET /v1/audit',
        ].sort(),
      );
      assert.deepEqual(doc.paths['/v1/jobs/{id}'].get.responses['200'].content['application/json'].schema.properties.job, { $ref: '#/components/schemas/Job' });
      assert.equal(doc.paths['/v1/claim'].post.requestBody.content['application/json'].schema.additionalProperties, false);
    });

    it('unknown routes are 404 ROUTE_NOT_FOUND; every response carries the security headers', async () => {
      const r = await t.call('GET', '/v2/jobs');
      assert.deepEqual([r.status, r.json.error.code], [404, 'ROUTE_NOT_FOUND']);
      for (const res of [r, await t.call('GET', '/v1/health')]) {
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.match(String(res.headers['content-type']), /^application\/json/);
      }
    });
  });
});
