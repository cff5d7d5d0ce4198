/**
 * A trace from an HTTP submit to the handler: spans kept by an in-memory exporter, the handler's
 * span a child of the submit's, in the trace of the caller's `traceparent`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { defineTask } from '../../src/core/task.js';
import { nextEvent } from '../helpers/offload.js';
import { type ServedApi, serveWithTokens } from '../helpers/served-api.js';

let activeInHandler: string | undefined;
const traced = defineTask('tr.echo', async (n: number) => {
  // The handler runs inside its span: what it starts (a fetch, a query) joins the trace.
  activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
  return n;
});
const boom = defineTask(
  'tr.boom',
  async () => {
    throw new Error('no');
  },
  { maxAttempts: 1 },
);

describe('traces from an HTTP submit to the handler', () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();
  let t: ServedApi;
  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    t = await serveWithTokens([traced, boom]);
  });
  after(async () => {
    await t.dispose();
    trace.disable();
    context.disable();
  });

  it("makes the handler's span a child of the submit's, in the caller's trace", async () => {
    exporter.reset();
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const r = await t.call('POST', '/v1/jobs', { body: { task: 'tr.echo', input: 7 }, headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` } });
    assert.equal(r.status, 201);
    const done = nextEvent(t.offload, 'job:succeeded');
    await t.offload.work();
    await done;
    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => {
      const s = spans.find((x) => x.name === name);
      assert.ok(s, `a span ${name} among ${spans.map((x) => x.name).join(', ')}`);
      return s;
    };
    const request = byName('POST /v1/jobs');
    const enqueue = byName('offload.enqueue');
    const run = byName('offload.run tr.echo');
    for (const s of [request, enqueue, run]) assert.equal(s.spanContext().traceId, callerTrace);
    assert.equal(request.parentSpanContext?.spanId, callerSpan);
    assert.equal(enqueue.parentSpanContext?.spanId, request.spanContext().spanId);
    assert.equal(run.parentSpanContext?.spanId, enqueue.spanContext().spanId);
    assert.equal(run.attributes['offload.job.id'], r.json.job.id);
    assert.equal(activeInHandler, run.spanContext().spanId);
  });

  it('continues the trace in another process: the context is stored with the job', async () => {
    exporter.reset();
    const elsewhere = defineTask('tr.elsewhere', async (n: number) => n + 1);
    // Another Offload on the same store: as far as the store can tell, another process.
    const other = await t.another({ tasks: [elsewhere] });
    const r = await t.call('POST', '/v1/jobs', { body: { task: 'tr.elsewhere', input: 1 } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const done = nextEvent(other, 'job:succeeded');
    await other.work();
    await done;
    const spans = exporter.getFinishedSpans();
    const enqueue = spans.find((s) => s.name === 'offload.enqueue');
    const run = spans.find((s) => s.name === 'offload.run tr.elsewhere');
    assert.ok(enqueue && run, spans.map((s) => s.name).join(', '));
    assert.equal(run.spanContext().traceId, enqueue.spanContext().traceId);
    assert.equal(run.parentSpanContext?.spanId, enqueue.spanContext().spanId);
  });

  it('starts a trace of its own for a request without traceparent, and marks a failed handler', async () => {
    exporter.reset();
    const r = await t.call('POST', '/v1/jobs', { body: { task: 'tr.boom', input: null } });
    assert.equal(r.status, 201);
    const failed = nextEvent(t.offload, 'job:failed');
    await t.offload.work();
    await failed;
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'POST /v1/jobs');
    const run = spans.find((s) => s.name === 'offload.run tr.boom');
    assert.ok(request && run);
    assert.equal(request.parentSpanContext, undefined);
    assert.equal(run.spanContext().traceId, request.spanContext().traceId);
    assert.equal(run.status.code, 2 /* SpanStatusCode.ERROR */);
    assert.equal(run.status.message, 'no');
  });
});
