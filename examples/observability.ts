// Metrics and traces: register an OpenTelemetry tracer provider (here the SDK's basic one, which
// keeps spans in memory; in production an OTLP exporter), run two jobs, then read the spans and
// the metrics that `GET /metrics` serves. Needs `npm install @opentelemetry/sdk-trace-base
// @opentelemetry/context-async-hooks` next to Offload.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { defineTask, Offload } from 'offload';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const resize = defineTask('image.resize', async (input: { width: number }) => ({ width: input.width }));
const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [resize] });
await offload.work({ concurrency: 2 });

for (const width of [320, 640]) await (await offload.enqueue(resize, { width })).result();

// Each run's span is a child of the span that submitted its job, in the same trace.
const spans = exporter.getFinishedSpans();
for (const run of spans.filter((s) => s.name === 'offload.run image.resize')) {
  const submit = spans.find((s) => s.spanContext().spanId === run.parentSpanContext?.spanId);
  console.log(`${run.name} ← ${submit?.name} (same trace: ${submit?.spanContext().traceId === run.spanContext().traceId})`);
}

// The Prometheus text of GET /metrics, a few of its lines.
const text = await offload.metrics.scrape();
for (const line of text.split('\n').filter((l) => /^offload_jobs_(enqueued|finished)_total|^offload_job_run_seconds_count/.test(l))) console.log(line);
await offload.close();
