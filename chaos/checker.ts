/**
 * After a scenario: what became of every job the producer was told was stored, how often each
 * job ran (from the runs files the handlers write), and how the work went over time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobError, JobRow } from '../src/core/job.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { CHAOS_TASK } from './tasks.js';

/** Attempts that ended because the worker lost its lease: the only reasons a job may run again. */
const LEASE_LOSS = new Set(['LEASE_EXPIRED', 'WORKER_DISCONNECTED', 'SHUTDOWN']);

export interface JobsSeen {
  /** Every chaos job in the store, by id. */
  byId: Map<string, JobRow>;
  /** seq → ids of the jobs with that input (more than one: a submit stored twice). */
  bySeq: Map<number, string[]>;
}

export async function readJobs(storeUrl: string): Promise<JobsSeen> {
  const store: Store = await openStore(storeUrl);
  try {
    const byId = new Map<string, JobRow>();
    const bySeq = new Map<number, string[]>();
    let beforeId: string | undefined;
    for (;;) {
      const page = await store.listJobs({ task: CHAOS_TASK, limit: 1000, beforeId });
      for (const row of page) {
        byId.set(row.id, row);
        const seq = (JSON.parse(row.input as string) as { seq: number }).seq;
        bySeq.set(seq, [...(bySeq.get(seq) ?? []), row.id]);
      }
      if (page.length < 1000) return { byId, bySeq };
      beforeId = page[page.length - 1].id;
    }
  } finally {
    await store.close();
  }
}

export interface Runs {
  /** Job id → the attempts run (one entry per run). */
  byJob: Map<string, number[]>;
  /** Runs per kind of worker (`server`, `worker`, `agent`). */
  byKind: Map<string, number>;
}

/** Runs of each job, from every process's runs file (`runs-<kind>-<pid>.log`). */
export function readRuns(dir: string): Runs {
  const byJob = new Map<string, number[]>();
  const byKind = new Map<string, number>();
  for (const f of readdirSync(dir).filter((n) => n.startsWith('runs-'))) {
    const kind = f.split('-')[1];
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [id, attempt] = line.split(' ');
      if (!id || !attempt) continue;
      byJob.set(id, [...(byJob.get(id) ?? []), Number(attempt)]);
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    }
  }
  return { byJob, byKind };
}

export interface Verdict {
  acked: number;
  /** Acknowledged, and missing from the store or ended other than succeeded (must be 0). */
  lost: number;
  /** Acknowledged and still queued or running when the drain gave up (made no progress for a while). */
  unfinished: number;
  /** Inputs stored more than once (a retried submit that became a second job). */
  duplicateSubmits: number;
  /** Jobs whose handler started more than once. */
  ranAgain: number;
  /** …of those, the ones with no lost lease to explain it (must be 0). */
  ranAgainUnexplained: number;
  /** One attempt started twice: two workers held the same lease (must be 0). */
  attemptRunTwice: number;
  /** Results the store refused because the lease had been lost meanwhile (from the workers' logs). */
  staleCompletes: number;
  /** Handler runs per kind of worker: the server's in-process worker, `offload worker` processes, the HTTP agent. */
  runsByKind: Record<string, number>;
}

export function verdict(acked: Map<number, string>, seen: JobsSeen, runs: Runs, logs: string[]): Verdict {
  let lost = 0;
  let unfinished = 0;
  for (const id of acked.values()) {
    const state = seen.byId.get(id)?.state;
    if (state === 'queued' || state === 'running') unfinished++;
    else if (state !== 'succeeded') lost++;
  }
  let duplicateSubmits = 0;
  for (const ids of seen.bySeq.values()) if (ids.length > 1) duplicateSubmits += ids.length - 1;
  let ranAgain = 0;
  let ranAgainUnexplained = 0;
  let attemptRunTwice = 0;
  for (const [id, attempts] of runs.byJob) {
    if (new Set(attempts).size !== attempts.length) attemptRunTwice++;
    if (attempts.length < 2) continue;
    ranAgain++;
    const row = seen.byId.get(id);
    const errors = row?.errors ? (JSON.parse(row.errors) as JobError[]) : [];
    const leaseLosses = errors.filter((e) => e.code !== undefined && LEASE_LOSS.has(e.code)).length;
    if (leaseLosses < new Set(attempts).size - 1) ranAgainUnexplained++;
  }
  const stale = /lease lost before (the result|its outcome) was recorded|result refused after an earlier delivery/;
  const staleCompletes = logs.reduce((n, text) => n + text.split('\n').filter((l) => stale.test(l)).length, 0);
  return {
    acked: acked.size,
    lost,
    unfinished,
    duplicateSubmits,
    ranAgain,
    ranAgainUnexplained,
    attemptRunTwice,
    staleCompletes,
    runsByKind: Object.fromEntries(runs.byKind),
  };
}

/** Completions per second of the acknowledged jobs, from `t0`. */
export function completionsPerSecond(acked: Map<number, string>, seen: JobsSeen, t0: number): number[] {
  const buckets: number[] = [];
  for (const id of acked.values()) {
    const at = seen.byId.get(id)?.finishedAt;
    if (at == null || at < t0) continue;
    const b = Math.floor((at - t0) / 1000);
    while (buckets.length <= b) buckets.push(0);
    buckets[b]++;
  }
  return buckets;
}

/** Mean completions per second over [fromMs, toMs) (relative to t0). */
export function rate(buckets: number[], fromMs: number, toMs: number): number | null {
  const from = Math.ceil(fromMs / 1000);
  const to = Math.floor(toMs / 1000);
  if (to <= from) return null;
  let n = 0;
  for (let b = from; b < to; b++) n += buckets[b] ?? 0;
  return Math.round(n / (to - from));
}

/** Seconds from `fromMs` to the first second whose completions reach `share` of `baseline`. */
export function recoverySeconds(buckets: number[], fromMs: number, baseline: number | null, share = 0.8): number | null {
  if (!baseline) return null;
  for (let b = Math.floor(fromMs / 1000); b < buckets.length; b++) {
    if ((buckets[b] ?? 0) >= share * baseline) return Math.max(0, Math.round((b * 1000 - fromMs) / 100) / 10);
  }
  return null;
}

/** Percentiles (ms) of how long acknowledged jobs created in [fromMs, toMs) waited to start, and to finish. */
export function latencies(
  acked: Map<number, string>,
  seen: JobsSeen,
  t0: number,
  fromMs: number,
  toMs: number,
): { waitP99: number | null; endToEndMax: number | null } {
  const waits: number[] = [];
  const ends: number[] = [];
  for (const id of acked.values()) {
    const row = seen.byId.get(id);
    if (!row || row.createdAt < t0 + fromMs || row.createdAt >= t0 + toMs) continue;
    if (row.startedAt !== null) waits.push(row.startedAt - row.createdAt);
    if (row.finishedAt !== null) ends.push(row.finishedAt - row.createdAt);
  }
  waits.sort((a, b) => a - b);
  return {
    waitP99: waits.length ? waits[Math.min(waits.length - 1, Math.floor(waits.length * 0.99))] : null,
    endToEndMax: ends.length ? Math.max(...ends) : null,
  };
}
