/**
 * The rule routes over a real socket, every request with a token: save, list, read (the secret
 * never shown back), pause, resume, remove, the firing alerts; what each scope and a token
 * narrowed to some tasks may do; bad rules that save nothing. Runs on SQLite, and on PostgreSQL
 * from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { apiTasks } from '../helpers/http.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.UTC(2026, 0, 1);
const hook = {
  on: { event: 'job.dead' },
  tasks: ['t.*'],
  action: { type: 'webhook', url: 'https://hooks.example.com/offload', secret: 'whsec_0123456789abcdef' },
  description: 'tell the billing service',
};

describe('HTTP API: rules', () => {
  let t: ServedApi;
  beforeEach(async () => {
    t = await serveWithTokens(Object.values(apiTasks));
  });
  afterEach(async () => {
    await t.dispose();
  });

  const put = (name: string, body: unknown, token?: string) => t.call('PUT', `/v1/rules/${name}`, { body, token });

  it('PUT saves a rule; GET lists and shows it without its secret; pause, resume and DELETE act on it', async () => {
    const r = await put('dead-hook', hook);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const expected = {
      name: 'dead-hook',
      on: { event: 'job.dead' },
      tasks: ['t.*'],
      action: { type: 'webhook', url: 'https://hooks.example.com/offload', secret: '(set)' },
      description: 'tell the billing service',
      paused: false,
      createdAt: iso(T0),
      updatedAt: iso(T0),
    };
    assert.deepEqual(r.json, { rule: expected });
    assert.deepEqual((await t.call('GET', '/v1/rules/dead-hook')).json, { rule: expected });
    await put('backlog', { on: { event: 'task.backlog', over: 100 }, action: { type: 'email', to: 'ops@example.com' } });
    const list = (await t.call('GET', '/v1/rules')).json.rules;
    assert.deepEqual(
      list.map((x: { name: string; on: unknown; tasks: string[] }) => [x.name, x.on, x.tasks]),
      [
        ['backlog', { event: 'task.backlog', over: 100 }, ['*']],
        ['dead-hook', { event: 'job.dead' }, ['t.*']],
      ],
    );
    assert.equal((await t.call('POST', '/v1/rules/dead-hook/pause')).json.rule.paused, true);
    assert.equal((await t.call('POST', '/v1/rules/dead-hook/resume')).json.rule.paused, false);
    assert.deepEqual((await t.call('GET', '/v1/alerts')).json, { alerts: [] });
    assert.deepEqual((await t.call('DELETE', '/v1/rules/dead-hook')).json, { name: 'dead-hook', removed: true });
    const gone = await t.call('GET', '/v1/rules/dead-hook');
    assert.deepEqual([gone.status, gone.json.error.code], [404, 'RULE_NOT_FOUND']);
  });

  it('refuses bad rules (INVALID_RULE, INVALID_REQUEST, UNKNOWN_TASK) and saves nothing', async () => {
    const cases: [unknown, number, string][] = [
      [{ ...hook, on: { event: 'job.exploded' } }, 400, 'INVALID_REQUEST'],
      [{ ...hook, on: { event: 'task.backlog' } }, 400, 'INVALID_RULE'],
      [{ ...hook, on: { event: 'task.failure-rate', overPercent: 120, windowMs: 600_000 } }, 400, 'INVALID_RULE'],
      [{ ...hook, tasks: ['has space'] }, 400, 'INVALID_RULE'],
      [{ ...hook, action: { ...hook.action, url: 'not a url' } }, 400, 'INVALID_RULE'],
      [{ ...hook, action: { ...hook.action, secret: 'short' } }, 400, 'INVALID_REQUEST'],
      [{ ...hook, action: { type: 'enqueue', task: 'nobody.defines' } }, 404, 'UNKNOWN_TASK'],
      [{ ...hook, extra: 1 }, 400, 'INVALID_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      const r = await put('bad', body);
      assert.deepEqual([r.status, r.json.error?.code], [status, code], JSON.stringify(body));
    }
    assert.deepEqual((await t.call('GET', '/v1/rules')).json, { rules: [] });
  });

  it('changing rules takes an admin token for every task; reading takes read; a token narrowed to tasks gets 403', async () => {
    const read = await t.token('read');
    const submit = await t.token('submit');
    const narrowed = await t.token('admin', ['t.echo']);
    assert.equal((await put('r', hook, read)).status, 403);
    assert.equal((await put('r', hook, submit)).status, 403);
    assert.equal((await put('r', hook, narrowed)).status, 403);
    assert.equal((await put('r', hook)).status, 200);
    assert.equal((await t.call('GET', '/v1/rules', { token: read })).status, 200);
    assert.equal((await t.call('GET', '/v1/rules', { token: narrowed })).status, 403);
    assert.equal((await t.call('POST', '/v1/rules/r/pause', { token: read })).status, 403);
    assert.equal((await t.call('DELETE', '/v1/rules/r', { token: read })).status, 403);
  });
});
