/**
 * OpenTelemetry spans around submitting and running jobs, with the submitter's trace context
 * handed to the run, so one trace goes from a web request to the handler. Opt-in by nature:
 * `@opentelemetry/api` is a no-op until the application registers a tracer provider, and then
 * nothing here records anything (no span is sampled, no context is kept).
 */
import { context, ProxyTracerProvider, ROOT_CONTEXT, type Span, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { EventBus } from '../core/events.js';
import type { ClaimedJob } from '../store/store.js';

/** Past this many jobs carrying a context not yet run here, the oldest are forgotten (the heap stays bounded). */
const MAX_CARRIED = 100_000;

export class JobTracing {
  private readonly tracer = trace.getTracer('offload');
  /** Job id → the W3C `traceparent` of the span that submitted it. */
  private readonly carried = new Map<string, string>();

  /** With no bus (a remote worker, which submits nothing), nothing is remembered between runs. */
  constructor(bus?: EventBus) {
    if (!bus) return;
    const forget = (e: { id: string }) => {
      if (this.carried.size > 0) this.carried.delete(e.id);
    };
    bus.on('job:succeeded', forget);
    bus.on('job:failed', forget);
    bus.on('job:cancelled', forget);
  }

  /**
   * Jobs just stored under `traceparent` (the value they carry in the store): a run in this
   * process starts from it without reading the job back. Said by the submitter, not learnt from
   * the insert's event, which a group commit may emit in another submitter's context.
   */
  remember(jobs: { id: string }[], traceparent: string | null | undefined): void {
    if (!traceparent) return;
    for (const j of jobs) {
      if (this.carried.size >= MAX_CARRIED) this.carried.delete(this.carried.keys().next().value as string);
      this.carried.set(j.id, traceparent);
    }
  }

  /** The W3C `traceparent` of the active span, for a job stored now to carry (null outside a trace). */
  activeTraceparent(): string | null {
    if (!tracerRegistered()) return null;
    const s = trace.getSpanContext(context.active());
    return s && trace.isSpanContextValid(s) ? traceparentOf(s) : null;
  }

  /** `fn` inside a span (`offload.enqueue` and the like) that the jobs it stores are children of. */
  submit<T>(name: string, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
    // Untraced (no provider registered), a submit pays for nothing: no span, no context.
    if (!tracerRegistered()) return fn();
    return this.tracer.startActiveSpan(name, { kind: SpanKind.PRODUCER, attributes }, (span) => ended(span, fn()));
  }

  /**
   * `fn` inside a server span for an HTTP request: a child of the caller's trace when the request
   * carries a `traceparent` header, so a trace goes from the web app through the API to the job.
   */
  request<T>(name: string, traceparent: string | string[] | undefined, fn: () => Promise<T>): Promise<T> {
    if (!tracerRegistered()) return fn();
    const remote = typeof traceparent === 'string' ? parseTraceparent(traceparent) : undefined;
    const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : context.active();
    return this.tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, parent, (span) => ended(span, fn()));
  }

  /**
   * Runs a handler inside an `offload.run` span, a child of the context the job was submitted
   * under: known here when this process submitted it, else read from the stored job (`stored`),
   * which only happens when the application traces (a registered provider).
   */
  run(job: ClaimedJob, call: () => unknown, stored: (id: string) => Promise<string | null>): unknown {
    // Untraced, a handler runs as it would without this: a span per job costs W3 a tenth of its rate.
    if (!tracerRegistered()) return call();
    const carried = job.traceContext ?? this.carried.get(job.id);
    if (carried !== undefined) return this.runIn(job, carried, call);
    return stored(job.id).then(
      (traceparent) => this.runIn(job, traceparent, call),
      // Tracing must never fail a job: without its context, the run starts a trace of its own.
      () => this.runIn(job, null, call),
    );
  }

  /**
   * The `traceparent` each claimed job was submitted under, for claimers in another process (an
   * HTTP agent's claim answer): empty unless the application traces, so an untraced claim reads
   * nothing more.
   */
  async traceparentsOf(jobs: ClaimedJob[], read: (ids: string[]) => Promise<{ id: string; traceContext?: string | null }[]>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!tracerRegistered() || jobs.length === 0) return out;
    const unknown: string[] = [];
    for (const j of jobs) {
      const known = j.traceContext ?? this.carried.get(j.id);
      if (known) out.set(j.id, known);
      else unknown.push(j.id);
    }
    if (unknown.length > 0) {
      try {
        for (const row of await read(unknown)) if (row.traceContext) out.set(row.id, row.traceContext);
      } catch {
        // Tracing must never fail a claim: those jobs' runs start traces of their own.
      }
    }
    return out;
  }

  private runIn(job: ClaimedJob, traceparent: string | null, call: () => unknown): unknown {
    const remote = traceparent === null ? undefined : parseTraceparent(traceparent);
    const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const attributes = { 'offload.task': job.task, 'offload.job.id': job.id, 'offload.job.attempt': job.attempt };
    return this.tracer.startActiveSpan(`offload.run ${job.task}`, { kind: SpanKind.CONSUMER, attributes }, parent, (span) => {
      let result: unknown;
      try {
        result = call();
      } catch (err) {
        failed(span, err);
        span.end();
        throw err;
      }
      if (!(result instanceof Promise)) {
        span.end();
        return result;
      }
      return ended(span, result);
    });
  }
}

/** A fresh proxy's delegate is the API's no-op provider: the global one differs once a provider is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

function tracerRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  return work.then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      failed(span, err);
      span.end();
      throw err;
    },
  );
}

function failed(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  if (err instanceof Error) span.recordException(err);
}

/** W3C Trace Context, version 00 (written here so no global propagator has to be registered). */
export function traceparentOf(s: SpanContext): string {
  return `00-${s.traceId}-${s.spanId}-${(s.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

export function parseTraceparent(header: string): SpanContext | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header.trim());
  if (!m) return undefined;
  const s: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true };
  return trace.isSpanContextValid(s) ? s : undefined;
}
