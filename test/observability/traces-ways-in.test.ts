/**
 * Traces through every way in besides a single HTTP submit: a batch and a flow (library and
 * HTTP), an HTTP agent's claim, a remote worker, and a Gearman submit. Spans are kept by an
 * in-memory exporter; each run must be a child of the span its job was submitted under.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { defineTask } from '../../src/core/task.js';
import { startRemoteWorker } from '../../src/remote/remote-worker.js';
import { startTestGearman } from '../helpers/gearman.js';
import { nextEvent } from '../helpers/offload.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

const batched = defineTask('tw.batched', async (n: number) => n);
const stepped = defineTask('tw.step', async (n: number) => n);
const agented = defineTask('tw.agent', async (n: number) => n);
const remote = defineTask('tw.remote', async (n: number) => n * 2);
const geared = defineTask('tw.gear', async (s: unknown) => s);

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

describe('traces through batches, flows, agents, remote workers and Gearman', () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();
  let t: ServedApi;
  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    t = await serveWithTokens([batched, stepped, agented, remote]);
  });
  after(async () => {
    await t.dispose();
    trace.disable();
    context.disable();
  });

  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const one = (name: string): ReadableSpan => {
    const found = spans(name);
    assert.equal(
      found.length,
      1,
      `one span ${name} among ${exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .join(', ')}`,
    );
    return found[0]!;
  };

  it("runs a batch submitted over HTTP inside the caller's trace, each run a child of offload.batch", async () => {
    exporter.reset();
    const r = await t.call('POST', '/v1/batches', { body: { jobs: [1, 2, 3].map((n) => ({ task: 'tw.batched', input: n })) }, headers: { traceparent } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const finished = nextEvent(t.offload, 'batch:finished');
    await t.offload.work({ tasks: [batched] });
    await finished;
    const request = one('POST /v1/batches');
    const submit = one('offload.batch');
    const runs = spans('offload.run tw.batched');
    assert.equal(runs.length, 3);
    assert.equal(request.parentSpanContext?.spanId, CALLER_SPAN);
    assert.equal(submit.parentSpanContext?.spanId, request.spanContext().spanId);
    for (const run of runs) {
      assert.equal(run.spanContext().traceId, CALLER_TRACE);
      assert.equal(run.parentSpanContext?.spanId, submit.spanContext().spanId);
    }
  });

  it("runs a flow's steps, in another process too, as children of offload.flow", async () => {
    exporter.reset();
    const other = await t.another({ tasks: [stepped] });
    const flow = await trace.getTracer('app').startActiveSpan('checkout', async (span) => {
      try {
        return await t.offload.flow({ steps: { a: { task: stepped, input: 1 }, b: { task: stepped, input: 2, after: ['a'] } } });
      } finally {
        span.end();
      }
    });
    const finished = nextEvent(other, 'batch:finished');
    await other.work({ tasks: [stepped] });
    await finished;
    assert.ok(flow.id);
    const app = one('checkout');
    const submit = one('offload.flow');
    assert.equal(submit.parentSpanContext?.spanId, app.spanContext().spanId);
    const runs = spans('offload.run tw.step');
    assert.equal(runs.length, 2);
    for (const run of runs) assert.equal(run.parentSpanContext?.spanId, submit.spanContext().spanId);
  });

  it('hands an HTTP agent the trace context of each job it claims', async () => {
    exporter.reset();
    const r = await t.call('POST', '/v1/jobs', { body: { task: 'tw.agent', input: 5 }, headers: { traceparent } });
    assert.equal(r.status, 201);
    const claim = await t.call('POST', '/v1/claim', { body: { workerId: 'agent-1', tasks: ['tw.agent'], max: 1 } });
    assert.equal(claim.status, 200, JSON.stringify(claim.json));
    const [job] = claim.json.jobs;
    const enqueue = one('offload.enqueue');
    assert.equal(job.traceparent, `00-${CALLER_TRACE}-${enqueue.spanContext().spanId}-01`);
  });

  it('makes a remote worker run a child of the submit, across HTTP', async () => {
    exporter.reset();
    const worker = await startRemoteWorker({ url: t.door.url, token: await t.token('work'), tasks: [remote], longPollMs: 1000 });
    try {
      const r = await t.call('POST', '/v1/jobs', { body: { task: 'tw.remote', input: 4 }, headers: { traceparent } });
      assert.equal(r.status, 201);
      const done = await t.call('GET', `/v1/jobs/${r.json.job.id}?wait=30`);
      assert.equal(done.json.job.state, 'succeeded');
      const enqueue = one('offload.enqueue');
      const run = await until(() => spans('offload.run tw.remote')[0]);
      assert.equal(run.spanContext().traceId, CALLER_TRACE);
      assert.equal(run.parentSpanContext?.spanId, enqueue.spanContext().spanId);
    } finally {
      await worker.stop();
    }
  });

  it("gives a Gearman submit a span, the job's run its child", async () => {
    exporter.reset();
    const g = await startTestGearman({ offload: { tasks: [geared] } });
    try {
      const client = await g.peer();
      client.send('SUBMIT_JOB_BG', 'tw.gear', '', 'payload');
      await client.expect('JOB_CREATED');
      const done = nextEvent(g.offload, 'job:succeeded');
      await g.offload.work({ tasks: [geared] });
      await done;
      const submit = one('gearman SUBMIT_JOB_BG');
      const run = one('offload.run tw.gear');
      assert.equal(run.parentSpanContext?.spanId, submit.spanContext().spanId);
      assert.equal(run.spanContext().traceId, submit.spanContext().traceId);
    } finally {
      await g.dispose();
    }
  });
});

/** The run span ends after the outcome is sent: wait for it on the event loop, not on a timer's luck. */
async function until<T>(get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 10_000; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the span never ended');
}
