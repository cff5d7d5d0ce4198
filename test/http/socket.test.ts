/** Over a real socket: long-polled claims, ?wait, server-sent events, disconnects, the listener's own rules. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { createToken } from '../../src/auth/tokens.js';
import { silentLogger } from '../../src/core/logger.js';
import type { HttpFrontDoorOptions } from '../../src/http/front-door.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import { apiTasks } from '../helpers/http.js';
import { openTestOffload, type TestOffload } from '../helpers/offload.js';
import { sseReader } from '../helpers/served-api.js';

interface Served extends TestOffload {
  door: HttpFrontDoor;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  untilLongRequests(n: number): Promise<void>;
}

async function serve(opts: HttpFrontDoorOptions = {}, beforeStart?: (t: TestOffload) => Promise<void>): Promise<Served> {
  const t = await openTestOffload({ tasks: Object.values(apiTasks) });
  await beforeStart?.(t);
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0, checkResponses: true, ...opts })(t.offload, silentLogger);
  await door.start();
  return {
    ...t,
    door,
    post: (path, body, init = {}) =>
      fetch(`${door.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: JSON.stringify(body),
        signal: init.signal,
      }),
    async untilLongRequests(n) {
      while (door.api.openLongRequests() !== n) await new Promise((resolve) => setImmediate(resolve));
    },
    async dispose() {
      await door.stop();
      await t.dispose();
    },
  };
}

describe('HTTP API over a socket', () => {
  let s: Served;
  afterEach(async () => {
    await s?.dispose();
  });

  it('a long-polled claim is woken by a job another process submits', async () => {
    s = await serve();
    const pending = s.post('/v1/claim', { tasks: ['t.echo'], waitMs: 30_000, workerId: 'agent-1' });
    await s.untilLongRequests(1);
    const producer = await s.another({ tasks: Object.values(apiTasks) });
    const job = await producer.enqueue('t.echo', { from: 'elsewhere' });
    const res = await pending;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { jobs: { id: string; input: unknown }[] };
    assert.deepEqual(
      body.jobs.map((j) => [j.id, j.input]),
      [[job.id, { from: 'elsewhere' }]],
    );
    assert.equal(s.door.api.openLongRequests(), 0);
  });

  it('?wait holds the submission until a worker finishes the job', async () => {
    s = await serve();
    await s.offload.work({ concurrency: 1, maintenance: false });
    const res = await s.post('/v1/jobs?wait=30', { task: 't.echo', input: [1, 2, 3] });
    assert.equal(res.status, 200);
    const { job } = (await res.json()) as { job: { state: string; result: unknown } };
    assert.deepEqual([job.state, job.result], ['succeeded', [1, 2, 3]]);
  });

  it('a client that goes away mid-claim frees its slot and takes no job with it', async () => {
    s = await serve();
    const abort = new AbortController();
    const pending = s.post('/v1/claim', { tasks: ['t.echo'], waitMs: 30_000 }, { signal: abort.signal }).catch((err: Error) => err);
    await s.untilLongRequests(1);
    abort.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await s.untilLongRequests(0);
    const job = await s.offload.enqueue('t.echo', 1);
    assert.equal((await s.offload.getJob(job.id)).state, 'queued');
  });

  it('stopping the server answers waiting claims with no jobs', async () => {
    s = await serve();
    const pending = s.post('/v1/claim', { tasks: ['t.echo'], waitMs: 30_000 });
    await s.untilLongRequests(1);
    const stopping = s.door.stop();
    const res = await pending;
    assert.deepEqual([res.status, await res.json()], [200, { jobs: [] }]);
    await stopping;
  });

  it('streams job and batch events, filtered by task, with heartbeats, and cleans up on disconnect', async () => {
    s = await serve({ sseHeartbeatMs: 15_000 });
    const abort = new AbortController();
    const res = await fetch(`${s.door.url}/v1/events?task=t.e*`, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const next = sseReader(res, { comments: true });
    await s.untilLongRequests(1);

    await s.offload.enqueue('t.other', 'not for this stream');
    const job = await s.offload.enqueue('t.echo', 'watched');
    const enqueued = await next();
    assert.deepEqual([enqueued.event, enqueued.data.id, enqueued.data.task, typeof enqueued.data.runAt], ['job:enqueued', job.id, 't.echo', 'string']);

    const [claimed] = ((await (await s.post('/v1/claim', { tasks: ['t.echo'] })).json()) as { jobs: { id: string; leaseToken: string }[] }).jobs;
    assert.equal((await next()).event, 'job:started');
    await s.post(`/v1/jobs/${claimed!.id}/heartbeat`, { leaseToken: claimed!.leaseToken, progress: { done: 1, total: 2 } });
    assert.deepEqual(await next(), { event: 'job:progress', data: { id: job.id, task: 't.echo', progress: { done: 1, total: 2 } } });
    await s.post(`/v1/jobs/${claimed!.id}/complete`, { leaseToken: claimed!.leaseToken, result: 'ok' });
    assert.deepEqual(await next(), { event: 'job:succeeded', data: { id: job.id, task: 't.echo' } });

    await s.offload.batch([], { title: 'empty' });
    const batch = await next();
    assert.deepEqual([batch.event, batch.data.title, batch.data.ok], ['batch:finished', 'empty', true]);

    await s.clock.advance(15_000);
    assert.deepEqual(await next(), { comment: 'ping' });

    assert.ok(s.offload.bus.has('job:progress'));
    abort.abort();
    await s.untilLongRequests(0);
    assert.ok(!s.offload.bus.has('job:progress'), 'the stream unsubscribed');
    assert.equal(s.clock.pendingTimers(), 0, 'no heartbeat timer left');
  });

  it('the body limit holds on a real socket, and the connection serves the next request', async () => {
    s = await serve({ maxBodyBytes: 64 * 1024 });
    const big = await s.post('/v1/jobs', { task: 't.echo', input: 'x'.repeat(100_000) });
    assert.deepEqual([big.status, ((await big.json()) as { error: { code: string } }).error.code], [413, 'PAYLOAD_TOO_LARGE']);
    assert.equal((await s.post('/v1/jobs', { task: 't.echo', input: 'small' })).status, 201);
  });

  it('a client still sending a body too large reads the 413, not a reset', async () => {
    s = await serve({ maxBodyBytes: 64 * 1024 });
    const url = new URL(s.door.url);
    const total = 4 * 1024 * 1024;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: '/v1/jobs',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': total },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      // Written in chunks, as a client streaming its body does, long after the server has seen the length.
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const more = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    });
    assert.deepEqual([answer.status, JSON.parse(answer.body).error.code], [413, 'PAYLOAD_TOO_LARGE']);
  });

  it('refuses to listen off loopback without a token; with one, every request needs it', async () => {
    const bare = await openTestOffload();
    try {
      await assert.rejects(httpFrontDoor({ host: '0.0.0.0', port: 0 })(bare.offload, silentLogger), { code: 'TOKENS_REQUIRED' });
    } finally {
      await bare.dispose();
    }
    let secret = '';
    s = await serve({ host: '0.0.0.0' }, async (t) => {
      secret = (await createToken(t.offload.store, t.clock, { name: 'ops', scope: 'admin' })).secret;
    });
    assert.match(s.door.description, /every request needs a token/);
    const url = s.door.url.replace('0.0.0.0', '127.0.0.1');
    const anonymous = await fetch(`${url}/v1/health`);
    assert.deepEqual([anonymous.status, ((await anonymous.json()) as { error: { code: string } }).error.code], [401, 'UNAUTHORIZED']);
    assert.equal((await fetch(`${url}/v1/health`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
  });
});
