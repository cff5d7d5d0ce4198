import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyRequestSignature } from '../../src/signing/request-signature.js';
import { ok } from '../helpers/endpoints.js';
import { groupOf, pushingOffload, SECRET } from '../helpers/push.js';

describe('push dispatch', () => {
  const pushing = pushingOffload();
  const endpoint = pushing.endpoint;

  it('POSTs a job, signed, to its group and records the answer as its result', async () => {
    const e = await endpoint((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ doubled: req.json.input.n * 2 }));
    });
    await pushing.t.offload.push.saveGroup(groupOf('basic', [{ url: e.url, credentials: { bearer: 'endpoint-secret' } }]));
    const job = await pushing.t.offload.enqueue('basic.job', { n: 21 });
    assert.deepEqual(await job.result({ timeoutMs: 10_000 }), { doubled: 42 });
    const [got] = e.received;
    assert.equal(got.json.id, job.id);
    assert.equal(got.json.task, 'basic.job');
    assert.equal(got.json.attempt, 1);
    assert.equal(got.json.maxAttempts, 3);
    assert.ok(Date.parse(got.json.deadline) > Date.now());
    assert.equal(got.json.callback, null);
    assert.equal(got.headers.authorization, 'Bearer endpoint-secret');
    assert.equal(got.headers['offload-job-id'], job.id);
    verifyRequestSignature({ secrets: SECRET, body: got.body, header: String(got.headers['offload-signature']) });
    const dispatchers = (await pushing.t.offload.store.listWorkers({})).filter((w) => w.kind === 'push');
    assert.ok(
      dispatchers.some((w) => w.id.startsWith('push:basic:') && w.tasks.includes('basic.job')),
      'the dispatcher lists itself as a push worker',
    );
    assert.throws(() => verifyRequestSignature({ secrets: 'another-secret-entirely!', body: got.body, header: String(got.headers['offload-signature']) }), {
      code: 'SIGNATURE_INVALID',
    });
  });

  it('fails a job for good on a 4xx, and retries a 5xx per the task policy', async () => {
    let calls = 0;
    const e = await endpoint((req, res) => {
      calls++;
      if (req.json.input.kind === 'bad') return void res.writeHead(422).end('no such report');
      res.writeHead(calls <= 2 ? 503 : 200, { 'content-type': 'application/json' }).end(calls <= 2 ? 'busy' : '"done"');
    });
    const quickRetries = { maxAttempts: 3, backoff: { type: 'fixed' as const, delayMs: 1 } };
    await pushing.t.offload.push.saveGroup(groupOf('codes', [{ url: e.url }], { health: { failures: 100 }, taskSettings: quickRetries }));
    const bad = await pushing.t.offload.enqueue('codes.job', { kind: 'bad' });
    await assert.rejects(bad.result({ timeoutMs: 10_000 }), (err: any) => err.code === 'JOB_FAILED');
    const failed = await pushing.t.offload.getJob(bad.id);
    assert.equal(failed.attempt, 1);
    assert.equal(failed.error?.code, 'PUSH_REJECTED');
    assert.match(failed.error!.message, /HTTP 422: no such report/);

    calls = 0;
    const retried: string[] = [];
    pushing.t.offload.on('job:retrying', (ev) => retried.push(ev.error.code ?? ''));
    const flaky = await pushing.t.offload.enqueue('codes.job', { kind: 'good' });
    assert.equal(await flaky.result({ timeoutMs: 10_000 }), 'done');
    assert.deepEqual(retried, ['PUSH_ENDPOINT_FAILED', 'PUSH_ENDPOINT_FAILED']);
    assert.equal((await pushing.t.offload.getJob(flaky.id)).attempt, 3);
  });

  it('fails a job for good when its answer is larger than the group takes, without counting it against the endpoint', async () => {
    const e = await endpoint((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000)));
    await pushing.t.offload.push.saveGroup(groupOf('large', [{ url: e.url }], { maxResponseBytes: 1000, health: { failures: 1 } }));
    const job = await pushing.t.offload.enqueue('large.job', null);
    await assert.rejects(job.result({ timeoutMs: 10_000 }), (err: any) => err.code === 'JOB_FAILED');
    const failed = await pushing.t.offload.getJob(job.id);
    assert.deepEqual([failed.attempt, failed.error?.code], [1, 'OUTBOUND_RESPONSE_TOO_LARGE']);
    assert.equal(pushing.t.offload.push.dispatcher('large')!.health.status()[0].healthy, true);
  });

  it('never lets a pull worker claim a task bound to a group', async () => {
    const e = await endpoint(ok('pushed'));
    await pushing.t.offload.push.saveGroup(groupOf('bound', [{ url: e.url }]));
    let pulled = 0;
    const other = await pushing.t.another();
    other.task('bound.job', () => {
      pulled++;
      return 'pulled';
    });
    const worker = await other.work({ concurrency: 5, maintenance: false });
    try {
      const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => pushing.t.offload.enqueue('bound.job', { i })));
      for (const j of jobs) assert.equal(await j.result({ timeoutMs: 10_000 }), 'pushed');
      assert.equal(pulled, 0);
      assert.deepEqual(await other.claim({ tasks: ['bound.job'], workerId: 'agent-1', max: 5 }), []);
    } finally {
      await worker.stop();
    }
  });
});
