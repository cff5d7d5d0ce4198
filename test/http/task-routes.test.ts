/** What a remote worker needs besides claiming (declaring its tasks' settings, suspending a task) and an operator's resume (in process, `inject()`). */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestApi, type TestApi } from '../helpers/http.js';

describe('HTTP API: task settings and suspension', () => {
  let t: TestApi;
  beforeEach(async () => {
    t = await openTestApi();
  });
  afterEach(async () => {
    await t.dispose();
  });

  describe('PUT /v1/tasks/:task', () => {
    it('stores the settings with defaults filled in; later submissions use them', async () => {
      const r = await t.call('PUT', '/v1/tasks/remote.resize', {
        body: { maxAttempts: 5, timeoutMs: 2000, priority: 3, backoff: { type: 'fixed', delayMs: 250 }, retention: 60_000, description: 'thumbnails' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json, {
        task: 'remote.resize',
        settings: {
          maxAttempts: 5,
          backoff: { type: 'fixed', delayMs: 250 },
          timeoutMs: 2000,
          priority: 3,
          concurrency: null,
          concurrencyPerKey: 1,
          rateLimit: null,
          retention: { succeeded: 60_000, failed: 60_000, cancelled: 60_000 },
          inputSchema: null,
          description: 'thumbnails',
        },
      });
      const job = (await t.call('POST', '/v1/jobs', { body: { task: 'remote.resize', input: 1 } })).json.job;
      assert.deepEqual([job.maxAttempts, job.timeoutMs, job.priority], [5, 2000, 3]);
    });

    it('replaces settings this process had cached, and an input schema is enforced at once', async () => {
      await t.call('PUT', '/v1/tasks/remote.sum', { body: {} });
      assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 'remote.sum', input: 'anything' } })).status, 201);
      const r = await t.call('PUT', '/v1/tasks/remote.sum', { body: { input: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } });
      assert.equal(r.status, 200);
      const bad = await t.call('POST', '/v1/jobs', { body: { task: 'remote.sum', input: 'anything' } });
      assert.deepEqual([bad.status, bad.json.error.code], [400, 'INVALID_INPUT']);
      assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 'remote.sum', input: { n: 1 } } })).status, 201);
    });

    it('stores a rate limit a remote worker declares, and refuses a limit of 0 without storing anything', async () => {
      const r = await t.call('PUT', '/v1/tasks/remote.api', { body: { rateLimit: { limit: 10, periodMs: 1000, key: 'maps' } } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.settings.rateLimit, { limit: 10, periodMs: 1000, key: 'maps' });
      const bad = await t.call('PUT', '/v1/tasks/remote.zero', { body: { rateLimit: { limit: 0, periodMs: 1000 } } });
      assert.equal(bad.status, 400);
      assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 'remote.zero', input: 1 } })).json.error.code, 'UNKNOWN_TASK');
    });

    it('is allowed to work tokens within their task patterns', async () => {
      const work = await t.token('work', ['remote.*']);
      assert.equal((await t.call('PUT', '/v1/tasks/remote.a', { body: { maxAttempts: 2 }, token: work })).status, 200);
      const outside = await t.call('PUT', '/v1/tasks/t.echo', { body: { maxAttempts: 2 }, token: work });
      assert.deepEqual([outside.status, outside.json.error.code], [403, 'FORBIDDEN']);
      const submit = await t.token('submit');
      assert.equal((await t.call('PUT', '/v1/tasks/remote.a', { body: {}, token: submit })).status, 403);
    });
  });

  describe('POST /v1/tasks/:task/suspend', () => {
    it('no job of the task is claimed until the suspension ends; a waiting claim wakes up then', async () => {
      await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 } });
      const r = await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 60_000 } });
      assert.deepEqual(r.json, { task: 't.echo', suspendedUntil: new Date(t.clock.now() + 60_000).toISOString() });
      assert.deepEqual((await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'] } })).json.jobs, []);
      const waiting = t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], waitMs: 60_000 } });
      await t.waitForLongRequests(1);
      await t.clock.advance(60_000);
      const claimed = await waiting;
      assert.equal(claimed.json.jobs.length, 1);
    });

    it('only lengthens a suspension in place', async () => {
      await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 60_000 } });
      const shorter = await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 1000 } });
      assert.equal(shorter.json.suspendedUntil, new Date(t.clock.now() + 60_000).toISOString());
    });

    it('is allowed to admin tokens, and shows in GET /v1/tasks', async () => {
      const admin = await t.token('admin');
      const r = await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 60_000 }, token: admin });
      assert.equal(r.status, 200);
      const tasks = (await t.call('GET', '/v1/tasks')).json.tasks as { task: string; suspendedUntil: string | null }[];
      assert.equal(tasks.find((c) => c.task === 't.echo')?.suspendedUntil, r.json.suspendedUntil);
      assert.equal(tasks.find((c) => c.task === 't.other')?.suspendedUntil, null);
    });

    it('is allowed to work tokens within their task patterns', async () => {
      const work = await t.token('work', ['t.e*']);
      assert.equal((await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 1000 }, token: work })).status, 200);
      assert.equal((await t.call('POST', '/v1/tasks/t.other/suspend', { body: { delayMs: 1000 }, token: work })).status, 403);
    });
  });

  describe('POST /v1/tasks/:task/resume', () => {
    it('ends the suspension at once: a waiting claim wakes without the clock moving', async () => {
      await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 } });
      await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 60_000 } });
      const waiting = t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], waitMs: 60_000 } });
      await t.waitForLongRequests(1);
      const r = await t.call('POST', '/v1/tasks/t.echo/resume');
      assert.deepEqual([r.status, r.json], [200, { task: 't.echo', suspendedUntil: null }]);
      assert.equal((await waiting).json.jobs.length, 1);
      const tasks = (await t.call('GET', '/v1/tasks')).json.tasks as { task: string; suspendedUntil: string | null }[];
      assert.equal(tasks.find((c) => c.task === 't.echo')?.suspendedUntil, null);
    });

    it('changes nothing on a task that is not suspended; 404 UNKNOWN_TASK for an unknown one', async () => {
      assert.deepEqual((await t.call('POST', '/v1/tasks/t.echo/resume')).json, { task: 't.echo', suspendedUntil: null });
      const unknown = await t.call('POST', '/v1/tasks/no.such.task/resume');
      assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'UNKNOWN_TASK']);
    });

    it('is for admin tokens only, within their task patterns', async () => {
      await t.call('POST', '/v1/tasks/t.echo/suspend', { body: { delayMs: 60_000 } });
      for (const scope of ['work', 'read', 'submit'] as const) {
        const r = await t.call('POST', '/v1/tasks/t.echo/resume', { token: await t.token(scope) });
        assert.deepEqual([r.status, r.json.error.code], [403, 'FORBIDDEN'], scope);
      }
      const narrow = await t.token('admin', ['t.o*']);
      assert.equal((await t.call('POST', '/v1/tasks/t.echo/resume', { token: narrow })).status, 403);
      assert.equal((await t.call('POST', '/v1/tasks/t.echo/resume', { token: await t.token('admin', ['t.e*']) })).status, 200);
    });
  });
});
