/**
 * offload.http.batch(): many requests with a limit per call, a callback job per response and one
 * at the end, durably. Against real local servers that count how many requests they hold at once.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import type { HttpResponse } from '../../src/http-requests/request-task.js';
import { defineTask, HTTP_REQUEST_TASK, type HttpEach, InvalidHttpRequestError, InvalidOptionError, onHttpResponse } from '../../src/index.js';
import { startServer } from '../../src/server/server.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { defaultFactory, openTestOffload, type TestOffload } from '../helpers/offload.js';

const LOCAL = ['127.0.0.1'];

/** An onEach task that records each call it gets, and returns the request's index and status. */
function recordingCallback(name = 'test.each') {
  const runs = new Map<number, number>();
  const seen: HttpEach[] = [];
  const task = defineTask(
    name,
    onHttpResponse((each) => {
      runs.set(each.index, (runs.get(each.index) ?? 0) + 1);
      seen.push(each);
      return { index: each.index, status: each.response?.status ?? null, error: each.error?.code ?? null };
    }),
  );
  return { task, runs, seen };
}

/** Resolves once `n` events of this name have been emitted on the test's Offload. */
function eventCount(t: TestOffload, name: 'job:retrying', n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const off = t.offload.on(name, () => {
      if (++seen < n) return;
      off();
      resolve();
    });
  });
}

describe('parallel HTTP requests (offload.http.batch)', () => {
  let t: TestOffload;
  const servers: CountingServer[] = [];
  afterEach(async () => {
    await t?.dispose();
    for (const s of servers.splice(0)) await s.close();
  });

  async function server(opts?: { latencyMs?: number }): Promise<CountingServer> {
    const s = await startCountingServer(opts);
    servers.push(s);
    return s;
  }

  it('sends 1,000 requests with limit 5: never more than 5 at once, one callback each, onFinish once, and a restart in the middle loses nothing', async () => {
    const counting = await server({ latencyMs: 1 });
    const each = recordingCallback();
    let finishes = 0;
    const done = defineTask('test.done', (input: { batch: { total: number; ok: boolean } }) => {
      finishes++;
      return input.batch;
    });
    t = await openTestOffload({ tasks: [each.task, done] });
    const requests = Array.from({ length: 1000 }, (_, i) => ({ url: `${counting.base}/ok/${i}` }));
    const batch = await t.offload.http.batch(requests, { limit: 5, onEach: each.task, onFinish: { task: done }, allowAddresses: LOCAL });
    assert.equal(batch.requests.length, 1000);
    assert.equal(batch.callbacks.length, 1000);
    await t.offload.work({ concurrency: 20 });

    // Mid-run, five requests are held by the server when the process goes away: they are sent again.
    await counting.whenAnswered(300);
    counting.hold();
    await counting.whenInFlight(5);
    const closing = t.offload.close();
    await t.clock.advance(10_001); // the worker's shutdown timeout: the held requests are aborted and released
    await closing;
    await counting.whenIdle();
    const answeredBefore = counting.answered;
    assert.ok(answeredBefore >= 300 && answeredBefore < 1000, `stopped in the middle (${answeredBefore} answered)`);

    counting.release();
    const again = await t.another({ tasks: [each.task, done] });
    await again.work({ concurrency: 20 });
    const outcome = await again.waitForBatch(batch.id);
    const finished = await again.getBatch(batch.id);
    await again.result(finished.onFinishJobId!);

    assert.ok(counting.peak <= 5, `the server saw ${counting.peak} requests at once`);
    assert.equal(counting.peak, 5, 'the limit was used');
    assert.deepEqual(outcome, { id: batch.id, title: null, ok: true, total: 2000, succeeded: 2000, failed: 0, cancelled: 0 });
    for (let i = 0; i < 1000; i++) assert.ok((counting.hits.get(`/ok/${i}`) ?? 0) >= 1, `request ${i} was sent`);
    assert.ok(counting.arrived - 1000 <= 5, `only requests in flight at the restart were sent again (${counting.arrived - 1000})`);
    assert.equal(each.runs.size, 1000, 'every request had its callback');
    assert.deepEqual(new Set(each.runs.values()), new Set([1]), 'each callback ran once');
    const counts = (await again.counts()).filter((c) => c.task === 'test.each' || c.task === HTTP_REQUEST_TASK);
    for (const c of counts) assert.deepEqual([c.task, c.succeeded, c.failed, c.queued + c.waiting + c.running], [c.task, 1000, 0, 0]);
    const callbacks = (await again.listJobs({ task: 'test.each', limit: 1000 })).jobs;
    assert.equal(new Set(callbacks.map((j) => (j.result as { index: number }).index)).size, 1000, 'one callback job per request');
    assert.ok(callbacks.every((j) => (j.result as { status: number }).status === 200));
    assert.equal(finishes, 1);
    assert.equal((await again.listJobs({ task: 'test.done' })).jobs.length, 1, 'one onFinish job');
  });

  it('gives each callback its request and response: status, headers, a text body for UTF-8 and JSON, base64 for bytes; a 4xx is a response', async () => {
    const s = await server();
    const each = recordingCallback();
    t = await openTestOffload({ tasks: [each.task] });
    const batch = await t.offload.http.batch(
      [
        { url: `${s.base}/ok/1` },
        { url: `${s.base}/json` },
        { url: `${s.base}/bytes` },
        { url: `${s.base}/status/404` },
        { url: `${s.base}/echo`, method: 'put', headers: { 'x-token': 'abc' }, body: 'héllo' },
        { url: `${s.base}/echo`, method: 'POST', body: new Uint8Array([0, 255]) },
      ],
      { onEach: { task: each.task, input: { crawl: 7 } }, allowAddresses: LOCAL },
    );
    await t.offload.work({ concurrency: 4 });
    const outcome = await batch.wait();
    assert.equal(outcome.ok, true);
    const byIndex = new Map(each.seen.map((e) => [e.index, e]));
    const text = byIndex.get(0)!;
    assert.deepEqual(text.request, { method: 'GET', url: `${s.base}/ok/1` });
    assert.deepEqual(text.input, { crawl: 7 });
    assert.equal(text.batchId, batch.id);
    assert.equal(text.error, null);
    assert.deepEqual([text.response!.status, text.response!.body, text.response!.bodyEncoding], [200, 'ok 1', 'utf8']);
    assert.equal(text.response!.headers['x-served-by'], 'counting-server');
    assert.deepEqual(JSON.parse(byIndex.get(1)!.response!.body), { hello: 'wörld' });
    const bytes = byIndex.get(2)!.response!;
    assert.equal(bytes.bodyEncoding, 'base64');
    assert.deepEqual([...Buffer.from(bytes.body, bytes.bodyEncoding)], [0, 1, 2, 0xff, 0xfe]);
    assert.deepEqual([byIndex.get(3)!.response!.status, byIndex.get(3)!.response!.body], [404, 'status 404']);
    const echoed = JSON.parse(byIndex.get(4)!.response!.body);
    assert.deepEqual([echoed.method, echoed.headers['x-token'], Buffer.from(echoed.body, 'base64').toString()], ['PUT', 'abc', 'héllo']);
    assert.deepEqual([...Buffer.from(JSON.parse(byIndex.get(5)!.response!.body).body, 'base64')], [0, 255]);
    // The handle reads a response too.
    const response: HttpResponse = await batch.response(3);
    assert.equal(response.status, 404);
  });

  it('retries a 5xx with the backoff, then reports it to onEach as an error; an error no retry can change fails at once', async () => {
    const s = await server();
    const each = recordingCallback();
    t = await openTestOffload({ tasks: [each.task] });
    const batch = await t.offload.http.batch(
      [
        { url: `${s.base}/flaky/a/1` }, // one 503, then 200
        { url: `${s.base}/status/500` }, // 500 every time
        { url: `${s.base}/big/2048` }, // over maxResponseBytes
        { url: 'http://10.255.255.1/' }, // a private address, not allowed
      ],
      { onEach: each.task, allowAddresses: LOCAL, attempts: 2, maxResponseBytes: 1024 },
    );
    const retried = eventCount(t, 'job:retrying', 2);
    await t.offload.work({ concurrency: 4 });
    // The two 5xx attempts are retried after the task's backoff (about a second), on the test's clock.
    await retried;
    await t.clock.advance(5_000);
    const outcome = await batch.wait();
    assert.deepEqual([outcome.succeeded, outcome.failed], [5, 3], 'the callbacks succeed; three requests failed');
    const byIndex = new Map(each.seen.map((e) => [e.index, e]));
    assert.equal(byIndex.get(0)!.response!.body, 'recovered');
    assert.equal(s.hits.get('/flaky/a/1'), 2);
    assert.equal(byIndex.get(1)!.response, null);
    assert.equal(byIndex.get(1)!.error!.code, 'HTTP_SERVER_ERROR');
    assert.match(byIndex.get(1)!.error!.message, /answered 500 on attempt 2 of 2/);
    assert.equal(s.hits.get('/status/500'), 2, 'a 5xx is tried as many times as attempts allow');
    assert.equal(byIndex.get(2)!.error!.code, 'OUTBOUND_RESPONSE_TOO_LARGE');
    assert.equal(s.hits.get('/big/2048'), 1, 'a body over the limit is not asked for again');
    assert.equal(byIndex.get(3)!.error!.code, 'OUTBOUND_ADDRESS_DENIED');
    assert.equal((await batch.requests[3].status()).attempt, 1);
  });

  it('refuses loopback addresses unless allowAddresses names them', async () => {
    const s = await server();
    const each = recordingCallback();
    t = await openTestOffload({ tasks: [each.task] });
    const batch = await t.offload.http.batch([{ url: `${s.base}/ok/1` }], { onEach: each.task });
    await t.offload.work();
    await batch.wait();
    assert.equal(each.seen[0].error!.code, 'OUTBOUND_ADDRESS_DENIED');
    assert.match(each.seen[0].error!.message, /add "127\.0\.0\.1".*to allowAddresses/);
    assert.equal(s.arrived, 0, 'nothing was sent');
  });

  it('keeps each call to its own limit while two calls run at once', async () => {
    const [a, b] = [await server({ latencyMs: 1 }), await server({ latencyMs: 1 })];
    t = await openTestOffload();
    const urls = (s: CountingServer) => Array.from({ length: 60 }, (_, i) => ({ url: `${s.base}/ok/${i}` }));
    const two = await t.offload.http.batch(urls(a), { limit: 2, allowAddresses: LOCAL });
    const three = await t.offload.http.batch(urls(b), { limit: 3, allowAddresses: LOCAL });
    // Both servers hold what they get until each call has its limit in flight: each reaches its limit, and goes no higher.
    a.hold();
    b.hold();
    await t.offload.work({ concurrency: 20 });
    await Promise.all([a.whenInFlight(2), b.whenInFlight(3)]);
    a.release();
    b.release();
    assert.equal((await two.wait()).ok, true);
    assert.equal((await three.wait()).ok, true);
    assert.deepEqual([a.peak, b.peak], [2, 3]);
    assert.deepEqual([a.answered, b.answered], [60, 60]);
  });

  it("stores a call once under its idempotency key: sent again, it returns the first call's batch; other content with the key is refused", async () => {
    t = await openTestOffload({ tasks: [recordingCallback().task] });
    const requests = [{ url: 'https://example.com/a' }, { url: 'https://example.com/b' }];
    const first = await t.offload.http.batch(requests, { onEach: 'test.each', idempotencyKey: 'crawl-1' });
    const again = await t.offload.http.batch(requests, { onEach: 'test.each', idempotencyKey: 'crawl-1' });
    assert.equal(again.id, first.id);
    assert.equal(again.replayed, true);
    assert.deepEqual(
      again.requests.map((h) => h.id),
      first.requests.map((h) => h.id),
    );
    assert.deepEqual(
      again.callbacks.map((h) => h.id),
      first.callbacks.map((h) => h.id),
    );
    await assert.rejects(t.offload.http.batch(requests.slice(1), { onEach: 'test.each', idempotencyKey: 'crawl-1' }), { code: 'IDEMPOTENCY_KEY_REUSED' });
    assert.equal((await t.offload.listJobs()).jobs.length, 4);
  });

  it('refuses what it could not send, before anything is stored', async () => {
    t = await openTestOffload();
    const http = t.offload.http;
    const refused = async (requests: unknown, problem: RegExp, options = {}) => {
      await assert.rejects(http.batch(requests as never, options), (err: InvalidHttpRequestError) => {
        assert.ok(err instanceof InvalidHttpRequestError, String(err));
        assert.match(err.message, problem);
        return true;
      });
    };
    await refused('http://example.com', /must be an array/);
    await refused([{ url: 'https://example.com' }, { url: 'ftp://example.com/x' }], /^Request 1 .*scheme is ftp:/);
    await refused([{ url: '/relative' }], /not an absolute URL/);
    await refused([{ url: 'https://example.com', method: 'GET /x' }], /not an HTTP method/);
    await refused([{ url: 'https://example.com', headers: { 'x-a': 'one\r\nx-b: two' } }], /line break/);
    await refused([{ url: 'https://example.com', headers: { 'x-a': 1 } }], /header values are strings/);
    await refused([{ url: 'https://example.com', body: { a: 1 } }], /give a string or bytes/);
    await refused([{ url: 'https://example.com', body: 'x'.repeat(2 * 1024 * 1024) }], /over the limit/);
    const invalid = async (options: object, option: string) =>
      assert.rejects(
        http.batch([{ url: 'https://example.com' }], options),
        (err: InvalidOptionError) => err instanceof InvalidOptionError && err.details?.option === option,
      );
    await invalid({ limit: 0 }, 'limit');
    await invalid({ limit: 101 }, 'limit');
    await invalid({ maxResponseBytes: 9 * 1024 * 1024 }, 'maxResponseBytes');
    await invalid({ timeoutMs: 0 }, 'timeoutMs');
    await invalid({ attempts: 11 }, 'attempts');
    await invalid({ allowAddresses: ['localhost'] }, 'allowAddresses');
    await assert.rejects(http.batch([{ url: 'https://example.com' }], { onEach: 'no.such.task' }), { code: 'UNKNOWN_TASK' });
    assert.equal((await t.offload.listJobs()).jobs.length, 0, 'nothing was stored');
  });

  it('fails a request job submitted by hand with a request it could not send at once, with INVALID_HTTP_REQUEST', async () => {
    t = await openTestOffload();
    await t.offload.work();
    const job = await t.offload.enqueue(HTTP_REQUEST_TASK, { index: 0, request: { url: 'file:///etc/passwd', method: 'GET', headers: {} }, policy: {} });
    const done = await job.finished();
    assert.deepEqual([done.state, done.attempt, done.error?.code], ['failed', 1, 'INVALID_HTTP_REQUEST']);
    const badPolicy = await t.offload.enqueue(HTTP_REQUEST_TASK, {
      index: 0,
      request: { url: 'https://example.com', method: 'GET', headers: {} },
      policy: { maxResponseBytes: -1 },
    });
    assert.equal((await badPolicy.finished()).error?.code, 'INVALID_OPTION');
  });

  it('runs on a server started without tasks of its own (offload start)', async () => {
    const s = await server();
    const fixture = await defaultFactory()();
    const running = await startServer({ store: fixture.url, tasks: [], logger: silentLogger });
    try {
      assert.ok(running.worker, 'the server runs a worker for the built-in tasks');
      const batch = await running.offload.http.batch([{ url: `${s.base}/ok/7` }], { allowAddresses: LOCAL });
      assert.equal((await batch.response(0)).body, 'ok 7');
    } finally {
      await running.close();
      await fixture.dispose();
    }
  });

  it('is a built-in task: every worker runs it, and the store lists it only once it is used', async () => {
    t = await openTestOffload();
    assert.deepEqual(await t.offload.counts(), []);
    const worker = await t.offload.work();
    assert.deepEqual(worker.tasks, [HTTP_REQUEST_TASK, 'offload.rule.webhook', 'offload.rule.email'], "a worker without a task list runs Offload's own tasks");
    assert.deepEqual(await t.offload.counts(), [], 'a worker does not register them');
    const s = await server();
    const batch = await t.offload.http.batch([{ url: `${s.base}/ok/1` }], { allowAddresses: LOCAL });
    assert.equal((await batch.response(0)).body, 'ok 1');
    assert.deepEqual(
      (await t.offload.counts()).map((c) => [c.task, c.succeeded]),
      [[HTTP_REQUEST_TASK, 1]],
    );
  });
});
