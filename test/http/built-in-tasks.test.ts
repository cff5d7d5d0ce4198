/**
 * Offload's own tasks (offload.*) from outside: their inputs say where requests go, so neither the
 * HTTP API nor the Gearman port submits or claims them, whatever the token.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startTestGearman, type TestGearman } from '../helpers/gearman.js';
import { apiTasks } from '../helpers/http.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

describe("Offload's own tasks from outside", () => {
  let api: ServedApi | undefined;
  let gearman: TestGearman | undefined;
  afterEach(async () => {
    await api?.dispose();
    await gearman?.dispose();
    api = gearman = undefined;
  });

  it('the HTTP API refuses to submit, schedule or claim them, even for an admin token', async () => {
    api = await serveWithTokens(Object.values(apiTasks));
    const request = { url: 'http://169.254.169.254/latest/meta-data', method: 'GET' };
    const tries = [
      await api.call('POST', '/v1/jobs', { body: { task: 'offload.http.request', input: { request, allowAddresses: ['169.254.169.254'] } } }),
      await api.call('POST', '/v1/batches', { body: { jobs: [{ task: 'offload.http.request', input: {} }] } }),
      await api.call('POST', '/v1/flows', { body: { steps: { a: { task: 'offload.rule.webhook', input: {} } } } }),
      await api.call('PUT', '/v1/schedules/steal', { body: { task: 'offload.http.request', cron: '* * * * *' } }),
      await api.call('POST', '/v1/claim', { body: { tasks: ['offload.http.request'], waitMs: 0 } }),
    ];
    for (const r of tries) assert.deepEqual([r.status, r.json.error.code], [403, 'BUILT_IN_TASK'], JSON.stringify(r.json));
    assert.deepEqual((await api.call('GET', '/v1/jobs')).json.jobs, []);
  });

  it('the Gearman port answers a submit of one with ERROR and stores nothing', async () => {
    gearman = await startTestGearman();
    const client = await gearman.peer();
    client.send('SUBMIT_JOB_BG', 'offload.http.request', '', '{"request":{"url":"http://10.0.0.1/"}}');
    const [code, message] = await client.expect('ERROR');
    assert.equal(code, 'BUILT_IN_TASK');
    assert.match(message, /Offload's own/);
    assert.deepEqual((await gearman.offload.listJobs()).jobs, []);
  });
});
