/**
 * F: what flow control costs a drain that it does not hold back. The W3 drain (20,000 jobs, one
 * worker, concurrency 10) three ways, interleaved round by round so that the machine's drift hits
 * each alike: plain (F0), with a rate limit that never binds (F1: every claim goes through the
 * limit's count and leaves its mark), and with 1,000 schedules defined and the scheduler running
 * (F2). Medians of the rounds, and each variant's ratio to F0.
 */
import type { OffloadQueueOptions } from './offload-queue.js';
import { type BenchQueue, type WorkloadResult, w3Drain } from './workloads.js';

export type FlowQueueFactory = (label: string, opts: OffloadQueueOptions) => Promise<BenchQueue>;

const VARIANTS: { name: string; opts: OffloadQueueOptions }[] = [
  { name: 'F0 W3 drain, plain', opts: {} },
  { name: 'F1 W3 drain, rate limit 10,000,000/s (never binds)', opts: { settings: { rateLimit: { limit: 10_000_000, periodMs: 1000 } } } },
  { name: 'F2 W3 drain, 1,000 schedules defined, scheduler running', opts: { schedules: 1000 } },
];

export async function flowBench(open: FlowQueueFactory, rounds = 3, jobs = 20_000): Promise<{ results: WorkloadResult[]; ratios: Record<string, number> }> {
  const runs = new Map<string, WorkloadResult[]>(VARIANTS.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const v of VARIANTS) {
      const r = await w3Drain((label) => open(`${label}-f${round}`, v.opts), jobs, 10, v.name.slice(0, 2));
      runs.get(v.name)!.push({ ...r, name: v.name });
    }
  }
  const results = VARIANTS.map((v) => median(runs.get(v.name)!));
  const base = results[0].jobsPerSecond;
  const ratios = Object.fromEntries(results.slice(1).map((r) => [r.name.slice(0, 2), Math.round((r.jobsPerSecond / base) * 100) / 100]));
  return { results, ratios };
}

function median(rs: WorkloadResult[]): WorkloadResult {
  const sorted = [...rs].sort((a, b) => a.jobsPerSecond - b.jobsPerSecond);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return { ...mid, name: `${mid.name} (median of ${rs.length}: ${rs.map((r) => r.jobsPerSecond).join(', ')})` };
}
