/**
 * The schedule routes over a real socket, every request with a token: add or replace, list, read,
 * pause, resume, run now, remove; what each scope and a token narrowed to some tasks may do; bad
 * rules, zones, tasks and fields that save nothing. Runs on SQLite, and on PostgreSQL from
 * test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { apiTasks } from '../helpers/http.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const nightly = { task: 't.echo', cron: '0 3 * * *', timezone: 'Europe/Berlin', input: { kind: 'daily' }, description: 'the nightly report' };

describe('HTTP API: schedules', () => {
  let t: ServedApi;
  beforeEach(async () => {
    t = await serveWithTokens(Object.values(apiTasks));
  });
  afterEach(async () => {
    await t.dispose();
  });

  const put = (name: string, body: unknown, token?: string) => t.call('PUT', `/v1/schedules/${name}`, { body, token });

  it('PUT adds a schedule with defaults filled in; GET lists and shows it', async () => {
    const r = await put('nightly', nightly);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const expected = {
      name: 'nightly',
      task: 't.echo',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      input: { kind: 'daily' },
      overlap: 'skip',
      catchUp: 'latest',
      catchUpLimit: 10,
      jitterMs: 0,
      priority: null,
      description: 'the nightly report',
      paused: false,
      // 03:00 in Berlin is 02:00 UTC in winter.
      nextTickAt: iso(T0 + 2 * 3_600_000),
      lastTickAt: null,
      lastJobId: null,
      lastJobState: null,
      createdAt: iso(T0),
      updatedAt: iso(T0),
    };
    assert.deepEqual(r.json, { schedule: expected });
    assert.deepEqual((await t.call('GET', '/v1/schedules/nightly')).json, { schedule: expected });
    await put('another', { task: 't.other', cron: '*/5 * * * *', overlap: 'allow', catchUp: 'all', catchUpLimit: 3, jitterMs: 500, priority: 7 });
    const list = (await t.call('GET', '/v1/schedules')).json.schedules;
    assert.deepEqual(
      list.map((s: { name: string }) => s.name),
      ['another', 'nightly'],
    );
    assert.deepEqual(
      [list[0].overlap, list[0].catchUp, list[0].catchUpLimit, list[0].jitterMs, list[0].priority, list[0].timezone, list[0].input],
      ['allow', 'all', 3, 500, 7, null, null],
    );
  });

  it('PUT replaces a schedule of the same name: other edits keep its place and its creation time', async () => {
    await put('nightly', nightly);
    await t.clock.advance(60_000);
    const r = await put('nightly', { ...nightly, input: { kind: 'weekly' }, priority: 2, description: null });
    assert.equal(r.status, 200);
    const s = r.json.schedule;
    assert.deepEqual([s.input, s.priority, s.description], [{ kind: 'weekly' }, 2, null]);
    assert.deepEqual([s.nextTickAt, s.createdAt, s.updatedAt], [iso(T0 + 2 * 3_600_000), iso(T0), iso(T0 + 60_000)]);
    assert.equal((await t.call('GET', '/v1/schedules')).json.schedules.length, 1);
  });

  it('PUT keeps a pause; a new rule or time zone starts the schedule afresh from now', async () => {
    await put('nightly', nightly);
    await t.call('POST', '/v1/schedules/nightly/pause');
    await t.clock.advance(3 * 3_600_000);
    const r = await put('nightly', { ...nightly, cron: '30 4 * * *', timezone: 'America/New_York' });
    assert.deepEqual([r.json.schedule.paused, r.json.schedule.cron, r.json.schedule.timezone], [true, '30 4 * * *', 'America/New_York']);
    // 04:30 in New York is 09:30 UTC in winter.
    assert.equal(r.json.schedule.nextTickAt, iso(T0 + 9.5 * 3_600_000));
  });

  it('pause and resume answer with the schedule', async () => {
    await put('nightly', nightly);
    const paused = await t.call('POST', '/v1/schedules/nightly/pause');
    assert.deepEqual([paused.status, paused.json.schedule.paused], [200, true]);
    assert.equal((await t.call('GET', '/v1/schedules/nightly')).json.schedule.paused, true);
    assert.equal((await t.call('POST', '/v1/schedules/nightly/pause')).json.schedule.paused, true, 'pausing again changes nothing');
    const resumed = await t.call('POST', '/v1/schedules/nightly/resume');
    assert.deepEqual([resumed.status, resumed.json.schedule.paused, resumed.json.schedule.nextTickAt], [200, false, iso(T0 + 2 * 3_600_000)]);
  });

  it('a paused schedule runs on demand too', async () => {
    await put('nightly', nightly);
    await t.call('POST', '/v1/schedules/nightly/pause');
    const r = await t.call('POST', '/v1/schedules/nightly/run');
    assert.deepEqual([r.status, r.json.job.origin], [201, 'schedule:nightly']);
    assert.deepEqual((await t.call('GET', '/v1/schedules/nightly')).json.schedule.paused, true);
  });

  it("run enqueues the schedule's job now (201, as POST /v1/jobs), which becomes its last job", async () => {
    await put('nightly', { ...nightly, priority: 4 });
    const r = await t.call('POST', '/v1/schedules/nightly/run');
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const job = r.json.job;
    assert.deepEqual([job.task, job.input, job.state, job.origin, job.priority], ['t.echo', { kind: 'daily' }, 'queued', 'schedule:nightly', 4]);
    const stored = await t.call('GET', `/v1/jobs/${job.id}`);
    assert.deepEqual([stored.status, stored.json.job.origin], [200, 'schedule:nightly']);
    const s = (await t.call('GET', '/v1/schedules/nightly')).json.schedule;
    assert.deepEqual([s.lastJobId, s.lastJobState, s.nextTickAt], [job.id, 'queued', iso(T0 + 2 * 3_600_000)]);
  });

  it('DELETE removes the schedule; its jobs stay', async () => {
    await put('nightly', nightly);
    const job = (await t.call('POST', '/v1/schedules/nightly/run')).json.job;
    const r = await t.call('DELETE', '/v1/schedules/nightly');
    assert.deepEqual([r.status, r.json], [200, { name: 'nightly', removed: true }]);
    const gone = await t.call('GET', '/v1/schedules/nightly');
    assert.deepEqual([gone.status, gone.json.error.code], [404, 'SCHEDULE_NOT_FOUND']);
    assert.deepEqual((await t.call('GET', '/v1/schedules')).json, { schedules: [] });
    assert.equal((await t.call('GET', `/v1/jobs/${job.id}`)).status, 200);
  });

  it('404 SCHEDULE_NOT_FOUND for every route on a schedule that does not exist', async () => {
    for (const [method, path] of [
      ['GET', '/v1/schedules/nope'],
      ['POST', '/v1/schedules/nope/pause'],
      ['POST', '/v1/schedules/nope/resume'],
      ['POST', '/v1/schedules/nope/run'],
      ['DELETE', '/v1/schedules/nope'],
    ] as const) {
      const r = await t.call(method, path);
      assert.deepEqual([r.status, r.json.error.code, r.json.error.details], [404, 'SCHEDULE_NOT_FOUND', { name: 'nope' }], `${method} ${path}`);
    }
    assert.equal((await t.offload.listJobs()).jobs.length, 0);
  });

  describe('what is refused saves nothing', () => {
    it("400 INVALID_SCHEDULE for a cron rule croner rejects, with croner's reason; a schedule being replaced stays as it was", async () => {
      const r = await put('nightly', { ...nightly, cron: '61 * * * *' });
      assert.deepEqual([r.status, r.json.error.code, r.json.error.details.schedule], [400, 'INVALID_SCHEDULE', 'nightly']);
      assert.match(r.json.error.message, /croner rejected the cron rule "61 \* \* \* \*": .*Invalid value for minute: 61/);
      assert.equal((await t.call('GET', '/v1/schedules/nightly')).status, 404);
      await put('nightly', nightly);
      const again = await put('nightly', { ...nightly, cron: 'every day at three' });
      assert.deepEqual([again.status, again.json.error.code], [400, 'INVALID_SCHEDULE']);
      assert.match(again.json.error.message, /exactly five, six, or seven space separated parts are required/);
      assert.equal((await t.call('GET', '/v1/schedules/nightly')).json.schedule.cron, '0 3 * * *');
    });

    it('400 INVALID_SCHEDULE for an unknown time zone', async () => {
      const r = await put('nightly', { ...nightly, timezone: 'Mars/Olympus_Mons' });
      assert.deepEqual([r.status, r.json.error.code], [400, 'INVALID_SCHEDULE']);
      assert.match(r.json.error.message, /unknown time zone "Mars\/Olympus_Mons"/);
      assert.deepEqual((await t.call('GET', '/v1/schedules')).json, { schedules: [] });
    });

    it("404 UNKNOWN_TASK for a task no process has defined; 400 INVALID_INPUT for an input the task's schema refuses", async () => {
      const r = await put('nightly', { ...nightly, task: 'no.such.task' });
      assert.deepEqual([r.status, r.json.error.code, r.json.error.details], [404, 'UNKNOWN_TASK', { task: 'no.such.task' }]);
      const bad = await put('doubled', { task: 't.schema', cron: '* * * * *', input: { n: 'one' } });
      assert.deepEqual([bad.status, bad.json.error.code], [400, 'INVALID_INPUT']);
      assert.equal((await put('doubled', { task: 't.schema', cron: '* * * * *', input: { n: 1 } })).status, 200);
      assert.deepEqual(
        (await t.call('GET', '/v1/schedules')).json.schedules.map((s: { name: string }) => s.name),
        ['doubled'],
      );
    });

    it('400 INVALID_REQUEST for an unknown field, a missing one, a value out of range or a bad name', async () => {
      for (const [body, field] of [
        [{ ...nightly, every: 'day' }, 'body.every'],
        [{ task: 't.echo' }, 'body.cron'],
        [{ ...nightly, overlap: 'queue' }, 'body.overlap'],
        [{ ...nightly, catchUpLimit: 0 }, 'body.catchUpLimit'],
        [{ ...nightly, jitterMs: 1.5 }, 'body.jitterMs'],
      ] as const) {
        const r = await put('nightly', body);
        assert.deepEqual([r.status, r.json.error.code, r.json.error.details.field], [400, 'INVALID_REQUEST', field], JSON.stringify(body));
      }
      const name = await put('-nightly', nightly);
      assert.deepEqual([name.status, name.json.error.code, name.json.error.details.field], [400, 'INVALID_REQUEST', 'params.name']);
      assert.deepEqual((await t.call('GET', '/v1/schedules')).json, { schedules: [] });
    });
  });

  describe('tokens', () => {
    it('read and submit tokens list and show schedules but change none (403); work tokens do not even read them', async () => {
      await put('nightly', nightly);
      for (const scope of ['read', 'submit'] as const) {
        const token = await t.token(scope);
        assert.equal((await t.call('GET', '/v1/schedules', { token })).json.schedules.length, 1, scope);
        assert.equal((await t.call('GET', '/v1/schedules/nightly', { token })).status, 200, scope);
        for (const [method, path, body] of [
          ['PUT', '/v1/schedules/nightly', nightly],
          ['PUT', '/v1/schedules/new', nightly],
          ['POST', '/v1/schedules/nightly/pause'],
          ['POST', '/v1/schedules/nightly/resume'],
          ['POST', '/v1/schedules/nightly/run'],
          ['DELETE', '/v1/schedules/nightly'],
        ] as const) {
          const r = await t.call(method, path, { body, token });
          assert.deepEqual([r.status, r.json.error.code], [403, 'FORBIDDEN'], `${scope}: ${method} ${path}`);
        }
      }
      const work = await t.call('GET', '/v1/schedules', { token: await t.token('work') });
      assert.deepEqual([work.status, work.json.error.code], [403, 'FORBIDDEN']);
      const s = (await t.call('GET', '/v1/schedules/nightly')).json.schedule;
      assert.deepEqual([s.paused, s.lastJobId, s.input], [false, null, { kind: 'daily' }]);
      assert.equal((await t.call('GET', '/v1/schedules')).json.schedules.length, 1);
      assert.equal((await t.offload.listJobs()).jobs.length, 0);
    });

    it('an admin token may do everything', async () => {
      const token = await t.token('admin');
      assert.equal((await put('nightly', nightly, token)).status, 200);
      assert.equal((await t.call('POST', '/v1/schedules/nightly/pause', { token })).status, 200);
      assert.equal((await t.call('POST', '/v1/schedules/nightly/resume', { token })).status, 200);
      assert.equal((await t.call('POST', '/v1/schedules/nightly/run', { token })).status, 201);
      assert.equal((await t.call('DELETE', '/v1/schedules/nightly', { token })).status, 200);
    });

    it("a token narrowed to some tasks sees and changes only those tasks' schedules, and cannot take another's name", async () => {
      await put('echoes', { task: 't.echo', cron: '* * * * *' });
      await put('others', { task: 't.other', cron: '* * * * *' });
      const reader = await t.token('read', ['t.e*']);
      assert.deepEqual(
        (await t.call('GET', '/v1/schedules', { token: reader })).json.schedules.map((s: { name: string }) => s.name),
        ['echoes'],
      );
      const hidden = await t.call('GET', '/v1/schedules/others', { token: reader });
      assert.deepEqual([hidden.status, hidden.json.error.code, hidden.json.error.details.task], [403, 'FORBIDDEN', 't.other']);

      const admin = await t.token('admin', ['t.e*']);
      assert.equal((await put('echoes', { task: 't.echo', cron: '*/2 * * * *' }, admin)).status, 200);
      assert.equal((await put('mine', { task: 't.echo', cron: '* * * * *' }, admin)).status, 200);
      assert.equal((await t.call('POST', '/v1/schedules/echoes/run', { token: admin })).status, 201);
      for (const [method, path, body] of [
        ['PUT', '/v1/schedules/theirs', { task: 't.other', cron: '* * * * *' }],
        // The name is another task's schedule: replacing it with one of this token's tasks is still touching it.
        ['PUT', '/v1/schedules/others', { task: 't.echo', cron: '* * * * *' }],
        ['GET', '/v1/schedules/others'],
        ['POST', '/v1/schedules/others/pause'],
        ['POST', '/v1/schedules/others/resume'],
        ['POST', '/v1/schedules/others/run'],
        ['DELETE', '/v1/schedules/others'],
      ] as const) {
        const r = await t.call(method, path, { body, token: admin });
        assert.deepEqual([r.status, r.json.error.code], [403, 'FORBIDDEN'], `${method} ${path}`);
      }
      const others = (await t.call('GET', '/v1/schedules/others')).json.schedule;
      assert.deepEqual([others.task, others.paused, others.lastJobId], ['t.other', false, null]);
      assert.equal((await t.call('GET', '/v1/schedules/theirs')).status, 404);
    });
  });
});
