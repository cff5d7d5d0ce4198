/** GET /metrics scraped over a real socket and parsed: counts, histograms, gauges, the log line per finished job. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defineTask } from '../../src/core/task.js';
import { eventually } from '../helpers/eventually.js';
import { adminExchange, startTestGearman } from '../helpers/gearman.js';
import { type Deferred, deferred, nextEvent, openTestOffload } from '../helpers/offload.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

/** The scraped text as sample → value, the sample written as Prometheus does: `name{label="v",…}`. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** With a gate, jobs of m.slow say when two run at once, then wait for the test to let them finish. */
let gate: { bothRunning: Deferred; finish: Deferred } | undefined;
let running = 0;
const slow = defineTask('m.slow', async (n: number) => {
  if (gate) {
    if (++running === 2) gate.bothRunning.resolve();
    await gate.finish.promise;
  }
  return n * 2;
});
const broken = defineTask(
  'm.broken',
  async () => {
    throw new Error('always');
  },
  { maxAttempts: 1 },
);

describe('GET /metrics', () => {
  let t: ServedApi;
  beforeEach(async () => {
    t = await serveWithTokens([slow, broken]);
  });
  afterEach(async () => {
    await t.dispose();
  });

  async function scrape(token?: string): Promise<Map<string, number>> {
    const res = await fetch(`${t.door.url}/metrics`, { headers: { authorization: `Bearer ${token ?? t.admin}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return parseMetrics(await res.text());
  }

  it('counts jobs submitted over HTTP and run by a worker, with run and wait times, jobs by state and HTTP requests', async () => {
    for (const n of [1, 2]) assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 'm.slow', input: n } })).status, 201);
    assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 'm.broken', input: null } })).status, 201);
    // The jobs wait 3 s before a worker takes them.
    await t.clock.advance(3000);
    const before = await scrape();
    assert.equal(before.get('offload_jobs{task="m.slow",state="queued"}'), 2);
    assert.equal(before.get('offload_jobs_enqueued_total{task="m.slow"}'), 2);

    const held = { bothRunning: deferred(), finish: deferred() };
    gate = held;
    running = 0;
    const allSucceeded = new Promise<void>((resolve) => {
      let n = 0;
      t.offload.on('job:succeeded', () => {
        if (++n === 2) resolve();
      });
    });
    const failed = nextEvent(t.offload, 'job:failed');
    await t.offload.work({ concurrency: 3 });
    await held.bothRunning.promise;
    await t.clock.advance(1500);
    gate = undefined;
    held.finish.resolve();
    await allSucceeded;
    await failed;

    const m = await scrape();
    assert.equal(m.get('offload_jobs_started_total{task="m.slow"}'), 2);
    assert.equal(m.get('offload_jobs_finished_total{task="m.slow",outcome="succeeded"}'), 2);
    assert.equal(m.get('offload_jobs_finished_total{task="m.broken",outcome="failed"}'), 1);
    assert.equal(m.get('offload_jobs{task="m.slow",state="succeeded"}'), 2);
    assert.equal(m.get('offload_jobs{task="m.broken",state="failed"}'), 1);
    assert.equal(m.get('offload_job_run_seconds_count{task="m.slow"}'), 2);
    // Both ran while the clock moved 1.5 s: each took at least 1.5 s, and not 5.
    assert.equal(m.get('offload_job_run_seconds_bucket{le="1",task="m.slow"}'), 0);
    assert.equal(m.get('offload_job_run_seconds_bucket{le="2.5",task="m.slow"}'), 2);
    assert.equal(m.get('offload_job_wait_seconds_count{task="m.slow"}'), 2);
    assert.ok(m.get('offload_job_wait_seconds_sum{task="m.slow"}')! >= 6, 'each waited 3 s');
    assert.equal(m.get('offload_job_wait_seconds_bucket{le="2.5",task="m.slow"}'), 0);
    assert.equal(m.get('offload_lease_losses_total'), 0);
    assert.ok(m.get('offload_store_calls_total{method="insertJobs"}')! >= 3);
    assert.ok((m.get('offload_store_call_seconds_total{method="insertJobs"}') ?? -1) >= 0);
    assert.equal(m.get('offload_http_requests_total{method="POST",route="/v1/jobs",status="201"}'), 3);
    assert.equal(m.get('offload_http_requests_total{method="GET",route="/metrics",status="200"}'), 1);
    if (t.fixture.url.startsWith('postgres')) {
      assert.ok(m.get('offload_store_pool_connections{state="total"}')! >= 1);
      // The scrape's own count may be waiting for a connection as the pool is read: only present.
      assert.ok(m.get('offload_store_pool_connections{state="waiting"}')! >= 0);
      // The worker watches the store: its session LISTENs once connected.
      await eventually(async () => (await scrape()).get('offload_store_listening') === 1, 'the LISTEN session up');
    } else {
      assert.equal(m.get('offload_store_listening'), undefined, 'SQLite has no pool and no LISTEN');
    }
  });

  it('needs read access: a read token scrapes, no token is refused where tokens are required', async () => {
    const read = await t.token('read');
    assert.equal((await scrape(read)).get('offload_lease_losses_total'), 0);
    const anonymous = await fetch(`${t.door.url}/metrics`);
    assert.equal(anonymous.status, 401);
  });

  it('keeps two Offloads in one process apart (a registry each)', async () => {
    const other = await t.another();
    await other.enqueue('m.slow', 1);
    assert.equal((await scrape()).get('offload_jobs_enqueued_total{task="m.slow"}'), undefined);
    assert.match(await other.metrics.scrape(), /offload_jobs_enqueued_total\{task="m.slow"\} 1/);
  });
});

describe('the Gearman front door in /metrics', () => {
  it('counts its requests by packet type and its open connections', async () => {
    const g = await startTestGearman();
    try {
      const scrape = async () => parseMetrics(await g.offload.metrics.scrape());
      assert.equal((await scrape()).get('offload_gearman_connections'), 0);
      const client = await g.peer();
      client.send('SUBMIT_JOB_BG', 'm.gear', '', 'a');
      client.send('SUBMIT_JOB_BG', 'm.gear', '', 'b');
      await client.expect('JOB_CREATED');
      await client.expect('JOB_CREATED');
      await adminExchange(g.port, ['status']);
      const during = await scrape();
      assert.equal(during.get('offload_gearman_packets_total{type="SUBMIT_JOB_BG"}'), 2);
      assert.equal(during.get('offload_gearman_packets_total{type="ADMIN"}'), 1);
      // The client is still connected; the admin tool's connection closes as the server sees its end.
      await eventually(async () => (await scrape()).get('offload_gearman_connections') === 1, 'one connection is open');
      client.socket.destroy();
      await client.closed;
      await eventually(async () => (await scrape()).get('offload_gearman_connections') === 0, 'no connection is open');
    } finally {
      await g.dispose();
    }
  });
});

describe('the log line per finished job', () => {
  it('says task, id, outcome, attempt and run time at info', async () => {
    const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
    const logger = { debug() {}, warn() {}, error() {}, info: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
    const t = await openTestOffload({ tasks: [slow], logger });
    try {
      await t.offload.work();
      const done = nextEvent(t.offload, 'job:succeeded');
      const handle = await t.offload.enqueue('m.slow', 4);
      await done;
      const line = lines.find((l) => l.msg === 'job finished');
      assert.deepEqual(line?.obj, { task: 'm.slow', jobId: handle.id, outcome: 'succeeded', attempt: 1, runMs: 0 });
    } finally {
      await t.dispose();
    }
  });
});
