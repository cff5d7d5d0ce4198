/**
 * The four core workloads, run against any store URL, with no-op handlers and input {"i":n}.
 * W1 single awaited enqueues · W2 enqueues in chunks of 1,000 · W3 drain with one worker at
 * concurrency 10 · W4 steady 100 jobs/s to an idle worker, enqueue→handler-start latency.
 */
import { defineTask, Offload } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';

export interface WorkloadResult {
  name: string;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  latencyMs?: Percentiles;
  peakRssMb?: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export type FreshStore = (label: string) => Promise<{ url: string; dispose(): Promise<void> }>;

const noop = defineTask('bench.noop', async (_input: { i: number }) => null, { maxAttempts: 1, retention: 3_600_000 });

async function open(url: string): Promise<Offload> {
  return Offload.open({ store: url, tasks: [noop], logger: silentLogger });
}

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(s[s.length - 1]) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function result(name: string, jobs: number, ms: number, extra: Partial<WorkloadResult> = {}): WorkloadResult {
  return { name, jobs, seconds: round(ms / 1000), jobsPerSecond: Math.round(jobs / (ms / 1000)), ...extra };
}

export async function w1SingleEnqueues(fresh: FreshStore, n = 10_000): Promise<WorkloadResult> {
  const store = await fresh('w1');
  const offload = await open(store.url);
  try {
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) await offload.enqueue(noop, { i: -i }); // warm-up
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await offload.enqueue(noop, { i });
      latencies.push(performance.now() - t);
    }
    return result('W1 single enqueues, each awaited', n, performance.now() - start, { latencyMs: percentiles(latencies) });
  } finally {
    await offload.close();
    await store.dispose();
  }
}

export async function w2ChunkedEnqueues(fresh: FreshStore, n = 50_000, chunk = 1000): Promise<WorkloadResult> {
  const store = await fresh('w2');
  const offload = await open(store.url);
  try {
    const start = performance.now();
    for (let i = 0; i < n; i += chunk) {
      const items = [];
      for (let j = i; j < Math.min(n, i + chunk); j++) items.push({ task: noop, input: { i: j } });
      await offload.enqueueMany(items);
    }
    return result(`W2 enqueues in chunks of ${chunk}`, n, performance.now() - start);
  } finally {
    await offload.close();
    await store.dispose();
  }
}

export async function w3Drain(fresh: FreshStore, n = 20_000, concurrency = 10): Promise<WorkloadResult> {
  const store = await fresh('w3');
  const offload = await open(store.url);
  try {
    for (let i = 0; i < n; i += 1000) {
      const items = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) items.push({ task: noop, input: { i: j } });
      await offload.enqueueMany(items);
    }
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);
    let done = 0;
    const finished = new Promise<void>((resolve) => offload.on('job:succeeded', () => { if (++done === n) resolve(); }));
    const start = performance.now();
    await offload.work({ concurrency, maintenance: false });
    await finished;
    const ms = performance.now() - start;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return result(`W3 drain ${n} jobs, one worker, concurrency ${concurrency}`, n, ms, { peakRssMb: Math.round(peakRss / 1048576) });
  } finally {
    await offload.close();
    await store.dispose();
  }
}

export async function w4Latency(fresh: FreshStore, n = 1000, perSecond = 100): Promise<WorkloadResult> {
  const store = await fresh('w4');
  const offload = await open(store.url);
  const submittedAt = new Float64Array(n);
  const latencies: number[] = [];
  let started = 0;
  let allStarted!: () => void;
  const done = new Promise<void>((resolve) => { allStarted = resolve; });
  const timed = defineTask('bench.latency', async (input: { i: number }) => {
    if (input.i >= 0) {
      latencies.push(performance.now() - submittedAt[input.i]);
      if (++started === n) allStarted();
    }
    return null;
  }, { maxAttempts: 1 });
  offload.register(timed);
  try {
    await offload.work({ concurrency: 10, tasks: [timed], maintenance: false });
    for (let i = 0; i < 50; i++) await offload.run(timed, { i: -1 }); // warm-up
    const start = performance.now();
    const interval = 1000 / perSecond;
    for (let i = 0; i < n; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      submittedAt[i] = performance.now();
      await offload.enqueue(timed, { i });
    }
    await done;
    return result(`W4 ${n} jobs at ${perSecond}/s to an idle worker (enqueue→start)`, n, performance.now() - start, { latencyMs: percentiles(latencies) });
  } finally {
    await offload.close();
    await store.dispose();
  }
}
