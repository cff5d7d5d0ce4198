/**
 * Bad input never hurts the server: each bad request gets a clear 4xx with a specific code,
 * writes nothing, and the server answers the next good request as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { revokeToken } from '../../src/auth/tokens.js';
import { openTestApi, type TestApi } from '../helpers/http.js';

const SQL = "x'; DROP TABLE jobs; --";
const HTML = '<script>alert(1)</script>';

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  body?: unknown;
  payload?: string;
  headers?: Record<string, string>;
  token?: 'submit' | 'work' | 'read' | 'revoked' | 'none' | 'patterned' | 'workPatterned';
  status: number;
  code: string;
  /** Expected in error.details.field, when the schema caught it. */
  field?: string;
}

const job = (extra: Record<string, unknown> = {}) => ({ task: 't.echo', input: 1, ...extra });

const CASES: Case[] = [
  // malformed JSON and media types
  { name: 'truncated JSON', url: '/v1/jobs', payload: '{"task":"t.echo",', status: 400, code: 'MALFORMED_JSON' },
  { name: 'trailing garbage', url: '/v1/jobs', payload: '{"task":"t.echo","input":1} x', status: 400, code: 'MALFORMED_JSON' },
  { name: 'single quotes', url: '/v1/jobs', payload: "{'task':'t.echo'}", status: 400, code: 'MALFORMED_JSON' },
  { name: 'NaN', url: '/v1/jobs', payload: '{"task":"t.echo","input":NaN}', status: 400, code: 'MALFORMED_JSON' },
  { name: 'prototype poisoning', url: '/v1/jobs', payload: '{"task":"t.echo","input":{"__proto__":{"admin":true}}}', status: 400, code: 'MALFORMED_JSON' },
  { name: 'empty body', url: '/v1/jobs', payload: '', status: 400, code: 'INVALID_REQUEST', field: 'body' },
  { name: 'JSON null body', url: '/v1/jobs', payload: 'null', status: 400, code: 'INVALID_REQUEST', field: 'body' },
  { name: 'a string body', url: '/v1/jobs', payload: '"t.echo"', status: 400, code: 'INVALID_REQUEST', field: 'body' },
  { name: 'text/plain', url: '/v1/jobs', payload: 'task=t.echo', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'form encoding',
    url: '/v1/jobs',
    payload: 'task=t.echo',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'empty array', url: '/v1/jobs', body: [], status: 400, code: 'INVALID_REQUEST', field: 'body' },

  // missing, unknown and wrongly typed fields
  { name: 'missing task', url: '/v1/jobs', body: { input: 1 }, status: 400, code: 'INVALID_REQUEST', field: 'body.task' },
  { name: 'missing input', url: '/v1/jobs', body: { task: 't.echo' }, status: 400, code: 'INVALID_REQUEST', field: 'body.input' },
  { name: 'unknown field', url: '/v1/jobs', body: job({ priorty: 1 }), status: 400, code: 'INVALID_REQUEST', field: 'body.priorty' },
  {
    name: 'unknown field in the 2nd job of an array',
    url: '/v1/jobs',
    body: [job(), job({ queue: 'x' })],
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body[1].queue',
  },
  { name: 'task is a number', url: '/v1/jobs', body: { task: 1, input: 1 }, status: 400, code: 'INVALID_REQUEST', field: 'body.task' },
  { name: 'priority is a string', url: '/v1/jobs', body: job({ priority: 'high' }), status: 400, code: 'INVALID_REQUEST', field: 'body.priority' },
  { name: 'priority is fractional', url: '/v1/jobs', body: job({ priority: 1.5 }), status: 400, code: 'INVALID_REQUEST', field: 'body.priority' },
  { name: 'priority out of range', url: '/v1/jobs', body: job({ priority: 2 ** 40 }), status: 400, code: 'INVALID_REQUEST', field: 'body.priority' },
  { name: 'runAt is a boolean', url: '/v1/jobs', body: job({ runAt: true }), status: 400, code: 'INVALID_REQUEST', field: 'body.runAt' },
  { name: 'runAt is not a date', url: '/v1/jobs', body: job({ runAt: 'tomorrow' }), status: 400, code: 'INVALID_REQUEST', field: 'body.runAt' },
  { name: 'negative delayMs', url: '/v1/jobs', body: job({ delayMs: -1 }), status: 400, code: 'INVALID_REQUEST', field: 'body.delayMs' },
  { name: 'empty uniqueKey', url: '/v1/jobs', body: job({ uniqueKey: '' }), status: 400, code: 'INVALID_REQUEST', field: 'body.uniqueKey' },
  { name: 'uniqueKey too long', url: '/v1/jobs', body: job({ uniqueKey: 'k'.repeat(256) }), status: 400, code: 'INVALID_REQUEST', field: 'body.uniqueKey' },
  { name: 'maxAttempts 0', url: '/v1/jobs', body: job({ maxAttempts: 0 }), status: 400, code: 'INVALID_REQUEST', field: 'body.maxAttempts' },
  { name: 'timeoutMs is a string', url: '/v1/jobs', body: job({ timeoutMs: '10' }), status: 400, code: 'INVALID_REQUEST', field: 'body.timeoutMs' },
  { name: 'wait is negative', url: '/v1/jobs?wait=-1', body: job(), status: 400, code: 'INVALID_REQUEST', field: 'query.wait' },
  { name: 'wait is a word', url: '/v1/jobs?wait=soon', body: job(), status: 400, code: 'INVALID_REQUEST', field: 'query.wait' },
  { name: 'unknown query parameter', method: 'GET', url: '/v1/jobs?queue=x', status: 400, code: 'INVALID_REQUEST', field: 'query.queue' },
  { name: 'a repeated query parameter', method: 'GET', url: '/v1/jobs?limit=1&limit=2', status: 400, code: 'INVALID_REQUEST', field: 'query.limit' },
  { name: 'input fails the task schema', url: '/v1/jobs', body: { task: 't.schema', input: { n: 'one' } }, status: 400, code: 'INVALID_INPUT' },
  {
    name: 'input nested 100 000 deep',
    url: '/v1/jobs',
    payload: `{"task":"t.echo","input":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    status: 400,
    code: 'INVALID_INPUT',
  },
  { name: 'claim with no tasks', url: '/v1/claim', body: { tasks: [] }, status: 400, code: 'INVALID_REQUEST', field: 'body.tasks' },
  { name: 'claim with tasks as a string', url: '/v1/claim', body: { tasks: 't.echo' }, status: 400, code: 'INVALID_REQUEST', field: 'body.tasks' },
  { name: 'claim max 0', url: '/v1/claim', body: { tasks: ['t.echo'], max: 0 }, status: 400, code: 'INVALID_REQUEST', field: 'body.max' },
  { name: 'claim lease too short', url: '/v1/claim', body: { tasks: ['t.echo'], leaseMs: 10 }, status: 400, code: 'INVALID_REQUEST', field: 'body.leaseMs' },
  { name: 'heartbeat without a lease token', url: '/v1/jobs/1/heartbeat', body: {}, status: 400, code: 'INVALID_REQUEST', field: 'body.leaseToken' },
  {
    name: 'heartbeat with unknown progress field',
    url: '/v1/jobs/1/heartbeat',
    body: { leaseToken: '1', progress: { done: 1, total: 2, eta: 3 } },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.progress.eta',
  },
  { name: 'fail without an error', url: '/v1/jobs/1/fail', body: { leaseToken: '1' }, status: 400, code: 'INVALID_REQUEST', field: 'body.error' },
  {
    name: 'fail with an unknown error field',
    url: '/v1/jobs/1/fail',
    body: { leaseToken: '1', error: { message: 'x', severity: 1 } },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.error.severity',
  },
  {
    name: 'release with a negative delay',
    url: '/v1/jobs/1/release',
    body: { leaseToken: '1', delayMs: -5 },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.delayMs',
  },
  { name: 'batch without jobs', url: '/v1/batches', body: { title: 'x' }, status: 400, code: 'INVALID_REQUEST', field: 'body.jobs' },
  { name: 'purge an invalid state', method: 'DELETE', url: '/v1/tasks/t.echo/jobs?state=done', status: 400, code: 'INVALID_REQUEST', field: 'query.state' },
  {
    name: 'task settings with an unknown field',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { retries: 3 },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.retries',
  },
  {
    name: 'task settings with maxAttempts 0',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { maxAttempts: 0 },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.maxAttempts',
  },
  {
    name: 'task settings with an unknown backoff type',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { backoff: { type: 'linear' } },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'task settings with an input schema that is a string',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { input: 'object' },
    status: 400,
    code: 'INVALID_REQUEST',
    field: 'body.input',
  },
  {
    name: 'task settings with an input schema that does not compile',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { input: { type: 'string', pattern: '(' } },
    status: 400,
    code: 'INVALID_TASK',
  },
  { name: 'suspend without delayMs', url: '/v1/tasks/t.echo/suspend', body: {}, status: 400, code: 'INVALID_REQUEST', field: 'body.delayMs' },
  { name: 'suspend for 0 ms', url: '/v1/tasks/t.echo/suspend', body: { delayMs: 0 }, status: 400, code: 'INVALID_REQUEST', field: 'body.delayMs' },
  { name: 'suspend an unknown task', url: '/v1/tasks/no.such.task/suspend', body: { delayMs: 1000 }, status: 404, code: 'UNKNOWN_TASK' },
  { name: 'resume an unknown task', url: '/v1/tasks/no.such.task/resume', status: 404, code: 'UNKNOWN_TASK' },

  // oversized
  { name: 'input over maxInputBytes', url: '/v1/jobs', body: job({ input: 'x'.repeat(70_000) }), status: 413, code: 'INPUT_TOO_LARGE' },
  { name: 'body over maxBodyBytes', url: '/v1/jobs', body: job({ input: 'x'.repeat(300_000) }), status: 413, code: 'PAYLOAD_TOO_LARGE' },

  // unknown task, ids that are not numbers
  { name: 'unknown task', url: '/v1/jobs', body: { task: 'no.such.task', input: 1 }, status: 404, code: 'UNKNOWN_TASK' },
  { name: 'unknown task in a batch', url: '/v1/batches', body: { jobs: [job(), { task: 'no.such.task', input: 1 }] }, status: 404, code: 'UNKNOWN_TASK' },
  ...['abc', '-1', '0', '1.5', '0x10', '1e3', '99999999999999999999', '9223372036854775808', `1${encodeURIComponent(SQL)}`].map(
    (id): Case => ({ name: `job id ${id}`, method: 'GET', url: `/v1/jobs/${id}`, status: 400, code: 'INVALID_ID' }),
  ),
  { name: 'job id on complete', url: '/v1/jobs/x/complete', body: { leaseToken: '1' }, status: 400, code: 'INVALID_ID' },
  { name: 'batch id', method: 'GET', url: '/v1/batches/seven', status: 400, code: 'INVALID_ID' },
  { name: 'batch filter', method: 'GET', url: '/v1/jobs?batch=x', status: 400, code: 'INVALID_REQUEST', field: 'query.batch' },

  // SQL and HTML in constrained string fields: refused by their patterns
  ...[SQL, HTML].flatMap((evil): Case[] => [
    { name: `task ${evil}`, url: '/v1/jobs', body: { task: evil, input: 1 }, status: 400, code: 'INVALID_REQUEST', field: 'body.task' },
    { name: `claim task ${evil}`, url: '/v1/claim', body: { tasks: [evil] }, status: 400, code: 'INVALID_REQUEST', field: 'body.tasks[0]' },
    { name: `workerId ${evil}`, url: '/v1/claim', body: { tasks: ['t.echo'], workerId: evil }, status: 400, code: 'INVALID_REQUEST', field: 'body.workerId' },
    { name: `leaseToken ${evil}`, url: '/v1/jobs/1/complete', body: { leaseToken: evil }, status: 400, code: 'INVALID_REQUEST', field: 'body.leaseToken' },
    {
      name: `error code ${evil}`,
      url: '/v1/jobs/1/fail',
      body: { leaseToken: '1', error: { message: 'm', code: evil } },
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'body.error.code',
    },
    { name: `list task ${evil}`, method: 'GET', url: `/v1/jobs?task=${encodeURIComponent(evil)}`, status: 400, code: 'INVALID_REQUEST', field: 'query.task' },
    { name: `cursor ${evil}`, method: 'GET', url: `/v1/jobs?cursor=${encodeURIComponent(evil)}`, status: 400, code: 'INVALID_REQUEST', field: 'query.cursor' },
    {
      name: `purge task ${evil}`,
      method: 'DELETE',
      url: `/v1/tasks/${encodeURIComponent(evil)}/jobs`,
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'params.task',
    },
    {
      name: `task settings of ${evil}`,
      method: 'PUT',
      url: `/v1/tasks/${encodeURIComponent(evil)}`,
      body: {},
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'params.task',
    },
    {
      name: `suspend ${evil}`,
      url: `/v1/tasks/${encodeURIComponent(evil)}/suspend`,
      body: { delayMs: 1000 },
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'params.task',
    },
    {
      name: `resume ${evil}`,
      url: `/v1/tasks/${encodeURIComponent(evil)}/resume`,
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'params.task',
    },
    {
      name: `events filter ${evil}`,
      method: 'GET',
      url: `/v1/events?task=${encodeURIComponent(evil)}`,
      status: 400,
      code: 'INVALID_REQUEST',
      field: 'query.task',
    },
    {
      name: `bearer ${evil}`,
      method: 'GET',
      url: '/v1/tasks',
      headers: { authorization: `Bearer ${evil.replace(/\s/g, '')}` },
      status: 401,
      code: 'UNAUTHORIZED',
    },
  ]),

  // tokens
  { name: 'a read token submitting', url: '/v1/jobs', body: job(), token: 'read', status: 403, code: 'FORBIDDEN' },
  { name: 'a submit token claiming', url: '/v1/claim', body: { tasks: ['t.echo'] }, token: 'submit', status: 403, code: 'FORBIDDEN' },
  { name: 'a work token purging', method: 'DELETE', url: '/v1/tasks/t.echo/jobs', token: 'work', status: 403, code: 'FORBIDDEN' },
  { name: 'a token outside its task pattern', url: '/v1/jobs', body: job(), token: 'patterned', status: 403, code: 'FORBIDDEN' },
  { name: 'a submit token declaring task settings', method: 'PUT', url: '/v1/tasks/t.echo', body: {}, token: 'submit', status: 403, code: 'FORBIDDEN' },
  { name: 'a read token suspending a task', url: '/v1/tasks/t.echo/suspend', body: { delayMs: 1000 }, token: 'read', status: 403, code: 'FORBIDDEN' },
  { name: 'a work token resuming a task', url: '/v1/tasks/t.echo/resume', token: 'work', status: 403, code: 'FORBIDDEN' },
  {
    name: 'a work token declaring settings outside its pattern',
    method: 'PUT',
    url: '/v1/tasks/t.echo',
    body: { maxAttempts: 1 },
    token: 'workPatterned',
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a work token suspending outside its pattern',
    url: '/v1/tasks/t.echo/suspend',
    body: { delayMs: 1000 },
    token: 'workPatterned',
    status: 403,
    code: 'FORBIDDEN',
  },
  { name: 'a revoked token', url: '/v1/jobs', body: job(), token: 'revoked', status: 401, code: 'UNAUTHORIZED' },
  { name: 'no token where one is required', url: '/v1/jobs', body: job(), token: 'none', status: 401, code: 'UNAUTHORIZED' },
];

describe('bad input', () => {
  let t: TestApi;
  let strict: TestApi;
  const tokens: Record<string, string> = {};
  let jobsBefore = 0;

  before(async () => {
    t = await openTestApi({ maxInputBytes: 64 * 1024, maxBodyBytes: 256 * 1024, failedAuthLimit: 1000 });
    strict = await openTestApi({ requireToken: true });
    for (const scope of ['submit', 'work', 'read'] as const) tokens[scope] = await t.token(scope);
    tokens.patterned = await t.token('submit', ['t.other*']);
    tokens.workPatterned = await t.token('work', ['t.other*']);
    tokens.revoked = await t.token('admin', [], 'revoked');
    await revokeToken(t.offload.store, t.clock, 'revoked');
    // One real job, so the lease-token routes have something (whose token nobody knows) to refuse.
    await t.offload.enqueue('t.echo', 'existing');
    jobsBefore = await totalJobs(t);
  });
  after(async () => {
    await t.dispose();
    await strict.dispose();
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const target = c.token === 'none' ? strict : t;
      const headers: Record<string, string> = { ...c.headers };
      if (c.payload !== undefined) headers['content-type'] ??= 'application/json';
      const r = await target.call(c.method ?? 'POST', c.url, {
        body: c.body,
        payload: c.payload,
        headers,
        token: c.token && c.token !== 'none' ? tokens[c.token] : undefined,
      });
      assert.equal(r.status, c.status, JSON.stringify(r.json));
      assert.equal(r.json?.error?.code, c.code, JSON.stringify(r.json));
      assert.equal(typeof r.json.error.message, 'string');
      assert.match(String(r.headers['content-type']), /^application\/json/);
      if (c.field) assert.equal(r.json.error.details?.field, c.field, r.json.error.message);
      assert.equal(await totalJobs(t), jobsBefore, 'nothing was written');
      assert.equal((await t.call('GET', '/v1/health')).status, 200, 'the server still answers');
    });
  }

  it('SQL and HTML in free-text fields are stored and returned verbatim, as JSON data', async () => {
    for (const evil of [SQL, HTML]) {
      const r = await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: { text: evil }, uniqueKey: evil, concurrencyKey: evil } });
      assert.equal(r.status, 201);
      assert.deepEqual([r.json.job.input.text, r.json.job.uniqueKey, r.json.job.concurrencyKey], [evil, evil, evil]);
      assert.ok(!r.raw.body.includes('<script>') || r.raw.body.includes('"<script>'), 'HTML only ever inside a JSON string');
      const batch = await t.call('POST', '/v1/batches', { body: { title: evil, jobs: [] } });
      assert.equal(batch.json.batch.title, evil);
      const [claimed] = await t.offload.claim({ tasks: ['t.echo'], max: 100 });
      if (claimed) {
        const failed = await t.call('POST', `/v1/jobs/${claimed.id}/fail`, {
          body: { leaseToken: claimed.leaseToken, error: { message: evil, stack: evil }, retryable: false },
        });
        assert.equal(failed.status, 200);
        assert.equal((await t.offload.getJob(claimed.id)).error?.message, evil);
      }
    }
    // The jobs table is still there and whole.
    assert.ok((await t.call('GET', '/v1/jobs?task=t.echo')).json.jobs.length >= 3);
  });
});

async function totalJobs(t: TestApi): Promise<number> {
  return (await t.offload.store.countJobs({})).reduce((n, r) => n + r.count, 0);
}
