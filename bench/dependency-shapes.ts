/**
 * D's two calls, one at a time (BENCH_D_SHAPES=1 with --only D): where a flow's drain spends more
 * than a plain one. A stage of bench D's chain takes two store calls: A finishes the stage's 99
 * jobs, which releases the join, and claims it; B finishes the join, which releases the next 99,
 * and claims them. Each is timed against a call of the same shape on plain jobs of another task
 * (pA: finish 99, claim 1; pB: finish 1, claim 99), interleaved stage by stage, straight on the
 * store (no worker, no handlers): medians of each, and the median of the per-stage ratios.
 */
import type { ClaimedJob, ClaimParams, NewJob, Transition } from '../src/store/store.js';
import { chainOfStages } from './dependency-workloads.js';
import { BENCH_TASK, type OffloadBenchQueue } from './offload-queue.js';

const PLAIN_TASK = 'bench.plain';

export interface ShapeTimes {
  /** Median milliseconds of each call. */
  medianMs: { A: number; pA: number; B: number; pB: number };
  /** Medians of the per-stage ratios A/pA and B/pB. */
  ratio: { A: number; B: number };
}

export async function dependencyShapes(open: (label: string) => Promise<OffloadBenchQueue>, stages = 100): Promise<ShapeTimes> {
  const q = await open('dshapes');
  try {
    const { store } = q;
    await q.flow(chainOfStages(stages, 100).steps);
    const plain = (i: number): NewJob => ({
      task: PLAIN_TASK,
      input: `{"i":${i}}`,
      priority: 0,
      runAt: 0,
      maxAttempts: 1,
      timeoutMs: null,
      uniqueKey: null,
      concurrencyKey: null,
      origin: null,
    });
    await store.insertJobs({ jobs: Array.from({ length: stages * 100 }, (_, i) => plain(i)), now: Date.now() });
    const claim = (task: string, max: number): ClaimParams => ({ workerId: 'bench-shapes', tasks: [task], max, leaseMs: 600_000, now: Date.now() });
    const outcomes = (jobs: ClaimedJob[]): Transition[] => jobs.map((j) => ({ to: 'succeeded', id: j.id, token: j.leaseToken, result: 'null' }));
    const times = { A: [] as number[], pA: [] as number[], B: [] as number[], pB: [] as number[] };
    const timed = async (shape: keyof typeof times, finish: ClaimedJob[], task: string, max: number, expect: number) => {
      const start = performance.now();
      const r = await store.finishJobs({ transitions: outcomes(finish), now: Date.now(), claim: claim(task, max) });
      times[shape].push(performance.now() - start);
      if (r.claimed.length !== expect) throw new Error(`${shape} claimed ${r.claimed.length} jobs, not ${expect}`);
      return r.claimed;
    };
    let members = await store.claimJobs(claim(BENCH_TASK, 100));
    let plainJobs = await store.claimJobs(claim(PLAIN_TASK, 99));
    for (let s = 0; s < stages - 1; s++) {
      const join = await timed('A', members, BENCH_TASK, 100, 1);
      const one = await timed('pA', plainJobs, PLAIN_TASK, 1, 1);
      members = await timed('B', join, BENCH_TASK, 100, 99);
      plainJobs = await timed('pB', one, PLAIN_TASK, 99, 99);
    }
    const ratio = (a: number[], b: number[]) => round(median(a.map((x, i) => x / b[i])));
    return {
      medianMs: { A: round(median(times.A)), pA: round(median(times.pA)), B: round(median(times.B)), pB: round(median(times.pB)) },
      ratio: { A: ratio(times.A, times.pA), B: ratio(times.B, times.pB) },
    };
  } finally {
    await q.close();
  }
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
