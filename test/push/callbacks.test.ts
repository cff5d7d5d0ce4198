import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import { startEndpoint, type TestEndpoint } from '../helpers/endpoints.js';
import { deferred, nextEvent } from '../helpers/offload.js';
import { groupOf, openPush, type PushFixture } from '../helpers/push.js';

/** What an endpoint does with a job it accepted: POSTs to its callback URL. */
async function callBack(push: any, type: 'progress' | 'complete' | 'fail', body: unknown, token = push.callback.token) {
  const res = await fetch(`${push.callback.url}/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'offload-callback-token': token },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('push: accepted (202) jobs and their callbacks', () => {
  let t: PushFixture;
  let door: HttpFrontDoor;
  const endpoints: TestEndpoint[] = [];
  const accepted: any[] = [];
  let arrived = deferred<any>();

  before(async () => {
    t = await openPush();
    door = await httpFrontDoor({ host: '127.0.0.1', port: 0, requireToken: true })(t.offload, silentLogger);
    await door.start();
    await t.offload.push.start({ callbackBaseUrl: door.url });
    const e = await startEndpoint((req, res) => {
      accepted.push(req.json);
      res.writeHead(202).end();
      arrived.resolve(req.json);
    });
    endpoints.push(e);
    await t.offload.push.saveGroup(
      groupOf('async', [{ url: e.url }], { callbackTimeoutMs: 1500, taskSettings: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1 } } }),
    );
  });
  after(async () => {
    await door.stop();
    await t.dispose();
    await Promise.all(endpoints.map((e) => e.close()));
  });

  const nextPush = async () => {
    const push = await arrived.promise;
    arrived = deferred<any>();
    return push;
  };

  it('takes progress and the result through the callback URL, without an API token', async () => {
    const job = await t.offload.enqueue('async.job', { report: 7 });
    const push = await nextPush();
    assert.equal(push.callback.url, `${door.url}/v1/push/jobs/${job.id}`);
    const progressed = nextEvent(t.offload, 'job:progress', (e) => e.id === job.id);
    assert.equal((await callBack(push, 'progress', { done: 1, total: 2, message: 'half way' })).status, 200);
    assert.deepEqual((await progressed).progress, { done: 1, total: 2, message: 'half way' });
    assert.equal((await callBack(push, 'complete', { result: { pages: 12 } })).status, 200);
    assert.deepEqual(await job.result({ timeoutMs: 10_000 }), { pages: 12 });
    // The attempt is over: its token no longer works.
    const late = await callBack(push, 'progress', { done: 2, total: 2 });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, 'LEASE_LOST');
  });

  it('refuses a token that is not the attempt’s', async () => {
    const job = await t.offload.enqueue('async.job', { report: 8 });
    const push = await nextPush();
    const forged = await callBack(push, 'complete', { result: 'forged' }, 'x'.repeat(43));
    assert.equal(forged.status, 409);
    assert.equal((await callBack(push, 'fail', { error: { message: 'no such report', code: 'NOT_FOUND' }, retryable: false })).status, 200);
    await assert.rejects(job.result({ timeoutMs: 10_000 }), (err: any) => err.code === 'JOB_FAILED');
    assert.equal((await t.offload.getJob(job.id)).error?.code, 'NOT_FOUND');
  });

  it('fails a silent attempt after callbackTimeoutMs, retries it, and refuses the first attempt’s late callback', async () => {
    const job = await t.offload.enqueue('async.job', { report: 9 });
    const first = await nextPush();
    const retrying = await nextEvent(t.offload, 'job:retrying', (e) => e.id === job.id);
    assert.equal(retrying.error.code, 'PUSH_CALLBACK_SILENT');
    const second = await nextPush();
    assert.equal(second.attempt, 2);
    assert.notEqual(second.callback.token, first.callback.token);
    const stale = await callBack(first, 'complete', { result: 'from the first attempt' });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'LEASE_LOST');
    assert.equal((await callBack(second, 'complete', { result: 'from the second' })).status, 200);
    assert.equal(await job.result({ timeoutMs: 10_000 }), 'from the second');
  });

  it('a callback to another server of the store is written through the store', async () => {
    const other = await t.another();
    const otherDoor = await httpFrontDoor({ host: '127.0.0.1', port: 0 })(other, silentLogger);
    await otherDoor.start();
    try {
      const job = await t.offload.enqueue('async.job', { report: 10 });
      const push = await nextPush();
      const res = await fetch(`${otherDoor.url}/v1/push/jobs/${job.id}/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'offload-callback-token': push.callback.token },
        body: JSON.stringify({ result: 'via another server' }),
      });
      assert.equal(res.status, 200);
      assert.equal(await job.result({ timeoutMs: 10_000 }), 'via another server');
    } finally {
      await otherDoor.stop();
    }
  });
});
