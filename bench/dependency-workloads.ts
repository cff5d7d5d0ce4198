/**
 * D: what dependencies cost a drain. A flow of 10,000 jobs in a chain of 100 stages of 100 — in
 * each stage 99 jobs that wait for the previous stage's join job, and 1 join job that waits for
 * those 99 (19,701 edges) — submitted with offload.flow() and drained by one worker (D1), against
 * the plain drain of 10,000 independent jobs by the same worker (D0). Both at concurrency 10, the
 * plain drain's own (W3's, and F's), and at 100, as wide as a stage: there the plain drain claims
 * twice as many jobs a call, and the flow cannot (its stages take turns), so its ratio is lower.
 * BENCH_D_CONCURRENCY=N measures at N only; BENCH_D_CALLS=1 prints the store calls each drain
 * made. Interleaved round by round so that the machine's drift hits each alike; medians of the
 * rounds, the ratio of D1's drain rate to D0's, and where the store's time went in each.
 */
import { BENCH_TASK, type OffloadBenchQueue } from './offload-queue.js';
import type { WorkloadResult } from './workloads.js';

export type DependencyQueueFactory = (label: string) => Promise<OffloadBenchQueue>;

export interface DependencyBenchResult {
  /** D0 and D1 at each concurrency, in the order measured. */
  results: WorkloadResult[];
  /** Per concurrency: D1's drain rate over D0's, submit seconds, and the store's time. */
  byConcurrency: Record<number, ConcurrencyResult>;
  edges: number;
}

export interface ConcurrencyResult {
  /** D1's drain rate over D0's. */
  ratio: number;
  /** Submit seconds (all jobs stored), medians of the rounds. */
  submitSeconds: { D0: number; D1: number };
  /** The store's milliseconds per method during the median round of each, largest first. */
  storeMs: { D0: Record<string, number>; D1: Record<string, number> };
}

interface Run {
  result: WorkloadResult;
  submitSeconds: number;
  storeMs: Record<string, number>;
}

/** The chain's steps: stage s's 99 jobs wait for join s-1; join s waits for stage s's 99. */
export function chainOfStages(
  stages: number,
  width: number,
): { steps: Record<string, { task: string; input: { i: number }; after?: string[] }>; edges: number } {
  const steps: Record<string, { task: string; input: { i: number }; after?: string[] }> = {};
  let edges = 0;
  let i = 0;
  for (let s = 0; s < stages; s++) {
    const members: string[] = [];
    for (let k = 0; k < width - 1; k++) {
      const name = `s${s}-${k}`;
      steps[name] = { task: BENCH_TASK, input: { i: i++ }, ...(s > 0 ? { after: [`join${s - 1}`] } : {}) };
      if (s > 0) edges++;
      members.push(name);
    }
    steps[`join${s}`] = { task: BENCH_TASK, input: { i: i++ }, after: members };
    edges += members.length;
  }
  return { steps, edges };
}

export async function dependencyBench(
  open: DependencyQueueFactory,
  rounds = 3,
  stages = 100,
  width = 100,
  concurrencies: number[] = [10, 100],
): Promise<DependencyBenchResult> {
  const n = stages * width;
  const { steps, edges } = chainOfStages(stages, width);
  const runs = new Map(concurrencies.map((c) => [c, { d0: [] as Run[], d1: [] as Run[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const c of concurrencies) {
      const { d0, d1 } = runs.get(c)!;
      d0.push(
        await drain(open, `d0-c${c}-${round}`, `D0 drain ${n} independent jobs, one worker, concurrency ${c}`, n, c, async (q) => {
          for (let i = 0; i < n; i += 1000) await q.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ i: i + j })));
        }),
      );
      const d1Name = `D1 drain a flow of ${n} jobs: ${stages} stages × ${width}, fan-out and fan-in (${edges} edges), concurrency ${c}`;
      d1.push(await drain(open, `d1-c${c}-${round}`, d1Name, n, c, (q) => q.flow(steps)));
    }
  }
  const results: WorkloadResult[] = [];
  const byConcurrency: Record<number, ConcurrencyResult> = {};
  for (const [c, { d0, d1 }] of runs) {
    const m0 = median(d0);
    const m1 = median(d1);
    results.push(m0.result, m1.result);
    byConcurrency[c] = {
      ratio: Math.round((m1.result.jobsPerSecond / m0.result.jobsPerSecond) * 100) / 100,
      submitSeconds: { D0: medianOf(d0.map((r) => r.submitSeconds)), D1: medianOf(d1.map((r) => r.submitSeconds)) },
      storeMs: { D0: m0.storeMs, D1: m1.storeMs },
    };
  }
  return { results, byConcurrency, edges };
}

/** Submits with `submit`, then times one worker draining every job (the store's time per method counted over the drain only). */
async function drain(
  open: DependencyQueueFactory,
  label: string,
  name: string,
  n: number,
  concurrency: number,
  submit: (q: OffloadBenchQueue) => Promise<void>,
): Promise<Run> {
  const q = await open(label);
  try {
    const submitStart = performance.now();
    await submit(q);
    const submitSeconds = round((performance.now() - submitStart) / 1000);
    const before = q.storeStats();
    const start = performance.now();
    await q.work(concurrency, () => undefined);
    await q.recorded(n);
    const ms = performance.now() - start;
    const after = q.storeStats();
    if (process.env.BENCH_D_CALLS)
      console.log(
        label,
        Object.entries(after)
          .map(([method, s]) => `${method} ${s.calls - (before[method]?.calls ?? 0)} calls`)
          .join(', '),
      );
    const storeMs = Object.fromEntries(
      Object.entries(after)
        .map(([method, s]) => [method, Math.round(s.totalMs - (before[method]?.totalMs ?? 0))] as const)
        .filter(([, t]) => t > 0)
        .sort((a, b) => b[1] - a[1]),
    );
    return { result: { name, jobs: n, seconds: round(ms / 1000), jobsPerSecond: Math.round(n / (ms / 1000)) }, submitSeconds, storeMs };
  } finally {
    await q.close();
  }
}

function median(runs: Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.result.jobsPerSecond - b.result.jobsPerSecond);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return { ...mid, result: { ...mid.result, name: `${mid.result.name} (median of ${runs.length}: ${runs.map((r) => r.result.jobsPerSecond).join(', ')})` } };
}

function medianOf(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
