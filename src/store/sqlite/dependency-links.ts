/**
 * The SQLite side of dependencies (src/core/dependencies.ts): linking new jobs to the jobs they
 * wait for, and settling waiting jobs when those finish. Every call runs inside the caller's
 * write transaction, so a job finishing and its dependents moving on are one commit.
 */
import type { BatchRow } from '../../core/batch.js';
import type { DependencyPolicy } from '../../core/dependencies.js';
import { DEPENDENCY_FAILED_CODE } from '../../core/errors.js';
import type { JobState } from '../../core/job.js';
import { checkedDeps, compareJobIds, emptySettled, planLinks, type Settled, tellSettledAtSubmit } from '../dependency-plan.js';
import type { DependencyRow, InsertedJob, NewJob } from '../store.js';

export type { Settled };

type Statement = { all(params: object): unknown[]; get(params: object): unknown; run(params: object): { changes: number } };

export interface DependencyLinksDeps {
  stmt(name: string): Statement;
  /** Counts ended members of a batch; returns the batch when that finishes it (enqueueing its onFinish job). */
  countBatchFinished(batchId: string, s: number, f: number, c: number, now: number, followUps: InsertedJob[]): BatchRow | null;
}

interface Edge {
  jobId: number;
  depId: number;
  policy: DependencyPolicy;
  name: string | null;
  depState: JobState;
  depTask: string;
}

/** Per job released by a settle that read every edge it had: its dependencies, as a claim hands them over. */
export type KnownDependencies = Map<string, DependencyRow[]>;

/**
 * A job a settle released and left waiting, because a claim follows in the same transaction: the
 * claim takes it straight to running, as if it were queued now, or queues it (one write of the row
 * instead of two: a flow's drain pays that in every stage).
 */
export interface HeldJob {
  id: number;
  task: string;
  priority: number;
  runAt: number;
  concurrencyKey: string | null;
}

/** What a settle followed by a claim gathers for it: the released jobs' dependencies, and the jobs held. */
export interface ClaimAfterSettle {
  known: KnownDependencies;
  held: HeldJob[];
}

export class DependencyLinks {
  constructor(private readonly deps: DependencyLinksDeps) {}

  /**
   * Links each new job that has `after` to what it waits for: stores the edges, makes the job
   * `waiting`, and settles at once the edges to jobs that have already finished. Updates the
   * states in `inserted`. Throws UNKNOWN_DEPENDENCY (the caller's transaction then stores nothing).
   */
  linkNew(jobs: NewJob[], inserted: InsertedJob[], now: number, out: Settled): void {
    const plan = planLinks(jobs, inserted);
    if (!plan) return;
    const { stmt } = this.deps;
    const found = stmt('mark_has_dependents').all({ ids: JSON.stringify(plan.deps.map(Number)) }) as { id: number; state: JobState; retried: number }[];
    const finished = checkedDeps(plan, new Map(found.map((r) => [String(r.id), r.state])), inserted);
    const retried = new Map(found.map((r) => [String(r.id), r.retried]));
    stmt('insert_deps').run({
      edges: JSON.stringify(plan.edges.map((e) => [Number(e.jobId), Number(e.depId), e.name, e.policy, retried.get(e.depId) ?? 0])),
    });
    stmt('mark_waiting').run({ items: JSON.stringify(plan.waiting.map((w) => [Number(w.id), w.n])) });
    if (finished.length === 0) return;
    const settled = emptySettled();
    this.settle(
      finished.map(Number),
      now,
      settled,
      plan.waiting.map((w) => Number(w.id)),
    );
    tellSettledAtSubmit(settled, inserted, out);
  }

  /**
   * These jobs reached a final state (and have dependents): settles the edges to them. A waiting
   * job whose every edge is done is queued; one whose edge's policy says so is ended, and its own
   * dependents settled in turn. `only`: settle only these waiting jobs (new ones, at submit).
   * `claim`: a claim follows in this transaction; the released are held for it, not queued.
   */
  settle(finished: number[], now: number, out: Settled, only?: number[], claim?: ClaimAfterSettle): void {
    const { stmt } = this.deps;
    let seeds = finished;
    let filter: string | null = only ? JSON.stringify(only) : null;
    while (seeds.length > 0) {
      const edges = stmt('dependents_of').all({ ids: JSON.stringify(seeds), only: filter }) as Edge[];
      filter = null;
      const next: number[] = [];
      const done: [number, number][] = [];
      const groups = groupByJob(edges);
      for (const [jobId, group] of groups) {
        const blocking = group.find((e) => e.depState !== 'succeeded' && e.policy !== 'run');
        if (!blocking) done.push([jobId, group.length]);
        else if (this.end(jobId, blocking, now, out)) next.push(jobId);
      }
      this.countDone(done, now, out, groups, claim);
      seeds = next;
    }
  }

  /**
   * Waiting jobs with `n` more edges done each; those with none left are released: queued
   * (follow-ups), or held for the claim that follows. When a claim follows and these were all
   * their edges, their dependencies are kept for it.
   */
  private countDone(done: [number, number][], now: number, out: Settled, groups: Map<number, Edge[]>, claim?: ClaimAfterSettle): void {
    if (done.length === 0) return;
    const items = JSON.stringify(done);
    const released = claim ? this.holdReleased(items, claim.held) : this.queueReleased(items, now, out);
    if (!claim) return;
    const complete: [string, Edge[]][] = [];
    for (const row of released) {
      const edges = groups.get(row.id);
      if (edges && edges.length === row.depsTotal) complete.push([String(row.id), edges]);
    }
    if (complete.length) this.knowDependencies(complete, claim.known);
  }

  private queueReleased(items: string, now: number, out: Settled): Released[] {
    const rows = this.deps.stmt('settle_waiting_jobs').all({ items, now }) as (Released & QueuedRow & { state: JobState })[];
    return tellQueued(
      rows.filter((r) => r.state === 'queued'),
      out.followUps,
    );
  }

  /** Held jobs (see `settle`) the claim did not take: queued, for any worker. */
  queueHeld(ids: number[], now: number, followUps: InsertedJob[]): void {
    if (ids.length === 0) return;
    tellQueued(this.deps.stmt('queue_released').all({ ids: JSON.stringify(ids), now }) as QueuedRow[], followUps);
  }

  private holdReleased(items: string, held: HeldJob[]): Released[] {
    const rows = this.deps.stmt('count_down_waiting_jobs').all({ items }) as (Released & HeldJob & { depsPending: number })[];
    const released = rows.filter((r) => r.depsPending <= 0).sort((a, b) => a.id - b.id);
    for (const r of released) held.push({ id: r.id, task: r.task, priority: r.priority, runAt: r.runAt, concurrencyKey: r.concurrencyKey });
    return released;
  }

  /** The dependencies of released jobs whose every edge was settled now, each job waited for read once. */
  private knowDependencies(complete: [string, Edge[]][], known: KnownDependencies): void {
    const depIds = [...new Set(complete.flatMap(([, edges]) => edges.map((e) => e.depId)))];
    const outcomes = new Map(
      (
        this.deps.stmt('dependency_results').all({ ids: JSON.stringify(depIds) }) as { id: number; result: DependencyRow['result']; error: string | null }[]
      ).map((r) => [r.id, r]),
    );
    for (const [id, edges] of complete)
      known.set(
        id,
        edges.map((e) => dependencyOf(id, e, outcomes.get(e.depId))).sort((a, b) => compareJobIds(a.depId, b.depId)),
      );
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

interface Released {
  id: number;
  depsTotal: number | null;
}

interface QueuedRow {
  id: number;
  task: string;
  runAt: number;
}

/** Jobs just queued, told as follow-ups in id order; returns them so sorted. */
function tellQueued<R extends QueuedRow>(rows: R[], followUps: InsertedJob[]): R[] {
  rows.sort((a, b) => a.id - b.id);
  for (const r of rows) followUps.push({ id: String(r.id), task: r.task, deduplicated: false, state: 'queued', runAt: r.runAt });
  return rows;
}

function dependencyOf(jobId: string, e: Edge, outcome: { result: DependencyRow['result']; error: string | null } | undefined): DependencyRow {
  return {
    jobId,
    depId: String(e.depId),
    name: e.name,
    policy: e.policy,
    task: e.depTask,
    state: e.depState,
    result: outcome?.result ?? null,
    error: outcome?.error ?? null,
  };
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
