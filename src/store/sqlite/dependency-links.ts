/**
 * The SQLite side of dependencies (src/core/dependencies.ts): linking new jobs to the jobs they
 * wait for, and settling waiting jobs when those finish. Every call runs inside the caller's
 * write transaction, so a job finishing and its dependents moving on are one commit.
 */
import type { BatchRow } from '../../core/batch.js';
import type { DependencyPolicy } from '../../core/dependencies.js';
import { DEPENDENCY_FAILED_CODE, UnknownDependencyError } from '../../core/errors.js';
import { isFinished, type JobState } from '../../core/job.js';
import type { EndedJob, InsertedJob, NewJob } from '../store.js';

type Statement = { all(params: object): unknown[]; get(params: object): unknown; run(params: object): { changes: number } };

export interface DependencyLinksDeps {
  stmt(name: string): Statement;
  /** Counts ended members of a batch; returns the batch when that finishes it (enqueueing its onFinish job). */
  countBatchFinished(batchId: string, s: number, f: number, c: number, now: number, followUps: InsertedJob[]): BatchRow | null;
}

/** What settling did: waiting jobs queued, waiting jobs ended, batches those finished. */
export interface Settled {
  followUps: InsertedJob[];
  ended: EndedJob[];
  finishedBatches: BatchRow[];
}

interface Edge {
  jobId: number;
  depId: number;
  policy: DependencyPolicy;
  name: string | null;
  depState: JobState;
  depTask: string;
}

export class DependencyLinks {
  constructor(private readonly deps: DependencyLinksDeps) {}

  /**
   * Links each new job that has `after` to what it waits for: stores the edges, makes the job
   * `waiting`, and settles at once the edges to jobs that have already finished. Updates the
   * states in `inserted`. Throws UNKNOWN_DEPENDENCY (the caller's transaction then stores nothing).
   */
  linkNew(jobs: NewJob[], inserted: InsertedJob[], now: number, out: Settled): void {
    const edges: [number, number, string | null, DependencyPolicy][] = [];
    const waiting: [number, number][] = [];
    const existing = new Set<number>();
    jobs.forEach((job, i) => {
      if (!job.after?.length || inserted[i].deduplicated) return;
      const id = Number(inserted[i].id);
      const seen = new Set<number>();
      for (const d of job.after) {
        const depId = 'id' in d.on ? Number(d.on.id) : Number(inserted[d.on.index].id);
        if (seen.has(depId)) continue;
        seen.add(depId);
        if ('id' in d.on) existing.add(depId);
        edges.push([id, depId, d.name, d.policy]);
      }
      waiting.push([id, seen.size]);
    });
    if (waiting.length === 0) return;
    const { stmt } = this.deps;
    const found = stmt('mark_has_dependents').all({ ids: JSON.stringify([...new Set(edges.map((e) => e[1]))]) }) as { id: number; state: JobState }[];
    const states = new Map(found.map((r) => [r.id, r.state]));
    const missing = [...existing].filter((id) => !states.has(id));
    if (missing.length) throw new UnknownDependencyError(missing.map(String));
    stmt('insert_deps').run({ edges: JSON.stringify(edges) });
    stmt('mark_waiting').run({ items: JSON.stringify(waiting) });
    const newIds = waiting.map(([id]) => id);
    const finishedDeps = [...existing].filter((id) => isFinished(states.get(id)!));
    const byId = new Map(inserted.map((j) => [Number(j.id), j]));
    for (const [id] of waiting) byId.get(id)!.state = 'waiting';
    if (finishedDeps.length === 0) return;
    const settled: Settled = { followUps: [], ended: [], finishedBatches: [] };
    this.settle(finishedDeps, now, settled, newIds);
    // New jobs that settled at once are told as inserted, in their new state; others as follow-ups.
    for (const j of settled.followUps) {
      const mine = byId.get(Number(j.id));
      if (mine) mine.state = j.state;
      else out.followUps.push(j);
    }
    for (const e of settled.ended) {
      const mine = byId.get(Number(e.id));
      if (mine) mine.state = e.state;
      else out.ended.push(e);
    }
    out.finishedBatches.push(...settled.finishedBatches);
  }

  /**
   * These jobs reached a final state (and have dependents): settles the edges to them. A waiting
   * job whose every edge is done is queued; one whose edge's policy says so is ended, and its own
   * dependents settled in turn. `only`: settle only these waiting jobs (new ones, at submit).
   */
  settle(finished: number[], now: number, out: Settled, only?: number[]): void {
    const { stmt } = this.deps;
    let seeds = finished;
    let filter: string | null = only ? JSON.stringify(only) : null;
    while (seeds.length > 0) {
      const edges = stmt('dependents_of').all({ ids: JSON.stringify(seeds), only: filter }) as Edge[];
      filter = null;
      const next: number[] = [];
      const done: [number, number][] = [];
      for (const [jobId, group] of groupByJob(edges)) {
        const blocking = group.find((e) => e.depState !== 'succeeded' && e.policy !== 'run');
        if (!blocking) done.push([jobId, group.length]);
        else if (this.end(jobId, blocking, now, out)) next.push(jobId);
      }
      this.countDone(done, now, out);
      seeds = next;
    }
  }

  /** Waiting jobs with `n` more edges done each; those with none left are queued (follow-ups). */
  private countDone(done: [number, number][], now: number, out: Settled): void {
    if (done.length === 0) return;
    type Row = { id: number; task: string; state: JobState; runAt: number };
    const one = done.length === 1 ? (this.deps.stmt('settle_waiting_job').get({ id: done[0][0], n: done[0][1], now }) as Row | undefined) : undefined;
    const rows = done.length === 1 ? (one ? [one] : []) : (this.deps.stmt('settle_waiting_jobs').all({ items: JSON.stringify(done), now }) as Row[]);
    for (const row of rows.sort((a, b) => a.id - b.id))
      if (row.state === 'queued') out.followUps.push({ id: String(row.id), task: row.task, deduplicated: false, state: 'queued', runAt: row.runAt });
  }

  /** Ends a waiting job by its edge's policy; true when it has dependents of its own to settle. */
  private end(jobId: number, edge: Edge, now: number, out: Settled): boolean {
    const state = edge.policy === 'fail' ? 'failed' : 'cancelled';
    const what = edge.name === null ? `job ${edge.depId} (${edge.depTask})` : `"${edge.name}" (job ${edge.depId}, ${edge.depTask})`;
    const error = JSON.stringify({
      message: `${what} ${edge.depState}, so this job was ${state}`,
      code: DEPENDENCY_FAILED_CODE,
      attempt: 0,
      at: new Date(now).toISOString(),
    });
    const row = this.deps.stmt('end_waiting_job').get({ id: jobId, state, error, now }) as
      | { id: number; task: string; batchId: number | null; hasDependents: number }
      | undefined;
    if (!row) return false;
    const batchId = row.batchId === null ? null : String(row.batchId);
    out.ended.push({ id: String(row.id), task: row.task, state, batchId, error });
    if (batchId !== null) {
      const finished = this.deps.countBatchFinished(batchId, 0, state === 'failed' ? 1 : 0, state === 'cancelled' ? 1 : 0, now, out.followUps);
      if (finished) out.finishedBatches.push(finished);
    }
    return row.hasDependents === 1;
  }
}

function groupByJob(edges: Edge[]): Map<number, Edge[]> {
  const out = new Map<number, Edge[]>();
  for (const e of edges) {
    let g = out.get(e.jobId);
    if (!g) out.set(e.jobId, (g = []));
    g.push(e);
  }
  return out;
}
