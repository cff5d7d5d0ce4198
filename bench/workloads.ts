/**
 * The four core workloads, written once against a small queue interface so that Offload and the
 * peers (bench/peers/) run exactly the same code, with no-op handlers and input {"i":n}:
 * W1 single awaited enqueues · W2 enqueues in chunks of 1,000 · W3 drain with one worker at
 * concurrency 10 · W4 steady 100 jobs/s to an idle worker, enqueue→handler-start latency · W5 the
 * W3 drain from a 50,000-job backlog.
 */

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

export interface BenchInput {
  i: number;
}

/** One job system on a fresh database (file or schema) of its own. */
export interface BenchQueue {
  /** Submits one job and resolves once the system has acknowledged (stored) it. */
  enqueue(input: BenchInput): Promise<void>;
  /** Submits many jobs in one call. */
  enqueueMany(inputs: BenchInput[]): Promise<void>;
  /** Starts one worker that runs `handler` for each job, up to `concurrency` at once. */
  work(concurrency: number, handler: (input: BenchInput) => void): Promise<void>;
  /** Resolves once `total` jobs have their outcome recorded in the database. */
  recorded(total: number): Promise<void>;
  /** Stops everything and removes the database. */
  close(): Promise<void>;
}

export type QueueFactory = (label: string) => Promise<BenchQueue>;

/** A fresh, empty store for one workload that needs a whole server (HTTP, Gearman, agents). */
export type FreshStore = (label: string) => Promise<{ url: string; dispose(): Promise<void> }>;

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

async function withQueue<T>(open: QueueFactory, label: string, fn: (q: BenchQueue) => Promise<T>): Promise<T> {
  const q = await open(label);
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

async function enqueueInChunks(q: BenchQueue, n: number, chunk: number): Promise<void> {
  for (let i = 0; i < n; i += chunk) {
    const inputs: BenchInput[] = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) inputs.push({ i: j });
    await q.enqueueMany(inputs);
  }
}

/** Each workload, with its number of jobs (a system too slow for the default gets a smaller one). */
export const WORKLOADS = {
  W1: (open: QueueFactory, n?: number) => w1SingleEnqueues(open, n),
  W2: (open: QueueFactory, n?: number) => w2ChunkedEnqueues(open, n),
  W3: (open: QueueFactory, n?: number) => w3Drain(open, n),
  W4: (open: QueueFactory, n?: number) => w4Latency(open, n),
  /** W3 from a backlog two and a half times as deep: the drain rate should not depend on it. */
  W5: (open: QueueFactory, n?: number) => w3Drain(open, n ?? 50_000, 10, 'W5'),
};

export type WorkloadName = keyof typeof WORKLOADS;

export function w1SingleEnqueues(open: QueueFactory, n = 10_000): Promise<WorkloadResult> {
  return withQueue(open, 'w1', async (q) => {
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) await q.enqueue({ i: -i }); // warm-up
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await q.enqueue({ i });
      latencies.push(performance.now() - t);
    }
    return result('W1 single enqueues, each awaited', n, performance.now() - start, { latencyMs: percentiles(latencies) });
  });
}

export function w2ChunkedEnqueues(open: QueueFactory, n = 50_000, chunk = 1000): Promise<WorkloadResult> {
  return withQueue(open, 'w2', async (q) => {
    const start = performance.now();
    await enqueueInChunks(q, n, chunk);
    return result(`W2 enqueues in chunks of ${chunk}`, n, performance.now() - start);
  });
}

export function w3Drain(open: QueueFactory, n = 20_000, concurrency = 10, label = 'W3'): Promise<WorkloadResult> {
  return withQueue(open, label.toLowerCase(), async (q) => {
    await enqueueInChunks(q, n, 1000);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const start = performance.now();
    await q.work(concurrency, () => undefined);
    await q.recorded(n);
    const ms = performance.now() - start;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return result(`${label} drain ${n} jobs, one worker, concurrency ${concurrency}`, n, ms, { peakRssMb: Math.round(peakRss / 1048576) });
  });
}

export function w4Latency(open: QueueFactory, n = 1000, perSecond = 100, warmup = 50): Promise<WorkloadResult> {
  return withQueue(open, 'w4', async (q) => {
    const submittedAt = new Float64Array(n + warmup);
    const latencies: number[] = [];
    let started = 0;
    let allStarted!: () => void;
    const done = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    await q.work(10, (input) => {
      const k = input.i + warmup;
      if (input.i >= 0) latencies.push(performance.now() - submittedAt[k]);
      if (++started === n + warmup) allStarted();
    });
    const interval = 1000 / perSecond;
    const start = performance.now();
    for (let k = 0; k < n + warmup; k++) {
      const wait = start + k * interval - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      submittedAt[k] = performance.now();
      await q.enqueue({ i: k - warmup }); // the first `warmup` jobs (negative i) are not measured
    }
    await done;
    return result(`W4 ${n} jobs at ${perSecond}/s to an idle worker (enqueue→start)`, n, performance.now() - start - warmup * interval, {
      latencyMs: percentiles(latencies),
    });
  });
}
