/**
 * The endpoint group routes over a real socket, every request with a token: save, list, read,
 * remove; what read and admin tokens may do; settings that save nothing; the push: worker ids
 * kept for dispatchers. Runs on SQLite, and on PostgreSQL from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { apiTasks } from '../helpers/http.js';
import { SECRET } from '../helpers/push.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

const group = {
  tasks: ['report.build'],
  secret: SECRET,
  balancer: 'least-outstanding',
  endpoints: [
    { id: 'app1', url: 'https://app1.example.com/offload', concurrency: 4, credentials: { bearer: 'never-shown' } },
    { id: 'app2', url: 'https://app2.example.com/offload', weight: 2 },
  ],
};

describe('HTTP API: endpoint groups', () => {
  let t: ServedApi;
  beforeEach(async () => {
    t = await serveWithTokens(Object.values(apiTasks));
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('PUT saves a group with its defaults; GET lists and shows it, without secrets; DELETE removes it', async () => {
    const saved = await t.call('PUT', '/v1/endpoint-groups/reports', { body: group });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    assert.deepEqual(saved.json.group.endpoints, [
      { id: 'app1', url: 'https://app1.example.com/offload', weight: 1, concurrency: 4, outstanding: 0 },
      { id: 'app2', url: 'https://app2.example.com/offload', weight: 2, concurrency: null, outstanding: 0 },
    ]);
    assert.deepEqual([saved.json.group.balancer, saved.json.group.concurrency, saved.json.group.health], ['least-outstanding', 100, null]);
    const text = JSON.stringify((await t.call('GET', '/v1/endpoint-groups')).json);
    assert.ok(!text.includes(SECRET) && !text.includes('never-shown'), 'no secret or credential in a listing');
    assert.equal((await t.call('GET', '/v1/endpoint-groups/reports')).json.group.name, 'reports');
    assert.deepEqual((await t.call('DELETE', '/v1/endpoint-groups/reports')).json, { removed: 'reports' });
    const gone = await t.call('GET', '/v1/endpoint-groups/reports');
    assert.deepEqual([gone.status, gone.json.error.code], [404, 'ENDPOINT_GROUP_NOT_FOUND']);
  });

  it('a read token lists groups but cannot save or remove one', async () => {
    const read = await t.token('read');
    assert.equal((await t.call('GET', '/v1/endpoint-groups', { token: read })).status, 200);
    const refused = await t.call('PUT', '/v1/endpoint-groups/reports', { body: group, token: read });
    assert.deepEqual([refused.status, refused.json.error.code], [403, 'FORBIDDEN']);
  });

  it('settings that are not valid save nothing and say what is wrong', async () => {
    const r = await t.call('PUT', '/v1/endpoint-groups/reports', { body: { ...group, endpoints: [{ url: 'gopher://x' }] } });
    assert.deepEqual([r.status, r.json.error.code], [400, 'INVALID_ENDPOINT_GROUP']);
    assert.match(r.json.error.message, /endpoints\[0\]\.url/);
    assert.equal((await t.call('GET', '/v1/endpoint-groups')).json.groups.length, 0);
  });

  it('a callback without a token of its own, or for a job that is not running, is refused', async () => {
    const missing = await t.call('POST', '/v1/push/jobs/1/complete', { body: { result: 1 } });
    assert.equal(missing.status, 400);
    const job = await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 } });
    const stale = await t.call('POST', `/v1/push/jobs/${job.json.job.id}/complete`, {
      body: { result: 1 },
      headers: { 'offload-callback-token': 'x'.repeat(43) },
    });
    assert.deepEqual([stale.status, stale.json.error.code], [409, 'LEASE_LOST']);
  });

  it('keeps push: worker ids for dispatchers', async () => {
    const r = await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'push:reports:me', waitMs: 0 } });
    assert.deepEqual([r.status, r.json.error.code], [400, 'INVALID_OPTION']);
    assert.match(r.json.error.message, /push dispatchers/);
  });
});
