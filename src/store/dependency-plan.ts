/**
 * What both stores do alike when new jobs wait for others (src/core/dependencies.ts): which edges
 * to store and which jobs become `waiting`, which jobs waited for must exist, and how what settled
 * at once (a job waited for had already finished) is told. The SQL that carries it out is each
 * store's own (sqlite/dependency-links.ts, postgres/dependency-links.ts).
 */
import type { BatchRow } from '../core/batch.js';
import type { DependencyPolicy } from '../core/dependencies.js';
import { UnknownDependencyError } from '../core/errors.js';
import { isFinished, type JobState } from '../core/job.js';
import type { EndedJob, InsertedJob, NewJob } from './store.js';

/** What settling did: waiting jobs queued, waiting jobs ended, batches those finished. */
export interface Settled {
  followUps: InsertedJob[];
  ended: EndedJob[];
  finishedBatches: BatchRow[];
}

export function emptySettled(): Settled {
  return { followUps: [], ended: [], finishedBatches: [] };
}

export interface LinkPlan {
  edges: { jobId: string; depId: string; name: string | null; policy: DependencyPolicy }[];
  /** The new jobs that wait, with how many distinct jobs each waits for. */
  waiting: { id: string; n: number }[];
  /** Jobs waited for that were stored before this submission (they must exist). */
  existing: string[];
  /** Every job waited for, once. */
  deps: string[];
}

/** The edges of the new jobs that have `after` (a deduplicated job gets none: it keeps its own); null when none waits. */
export function planLinks(jobs: NewJob[], inserted: InsertedJob[]): LinkPlan | null {
  const plan: LinkPlan = { edges: [], waiting: [], existing: [], deps: [] };
  const existing = new Set<string>();
  const deps = new Set<string>();
  jobs.forEach((job, i) => {
    if (!job.after?.length || inserted[i].deduplicated) return;
    const seen = new Set<string>();
    for (const d of job.after) {
      const depId = 'id' in d.on ? d.on.id : inserted[d.on.index].id;
      if (seen.has(depId)) continue;
      seen.add(depId);
      deps.add(depId);
      if ('id' in d.on) existing.add(depId);
      plan.edges.push({ jobId: inserted[i].id, depId, name: d.name, policy: d.policy });
    }
    plan.waiting.push({ id: inserted[i].id, n: seen.size });
  });
  if (plan.waiting.length === 0) return null;
  plan.existing = [...existing];
  plan.deps = [...deps];
  return plan;
}

/**
 * Given the states of the jobs waited for (as locked by the store), throws UNKNOWN_DEPENDENCY for
 * those missing; marks the new jobs `waiting` in `inserted`; returns the jobs waited for that have
 * already finished, whose edges the store settles at once.
 */
export function checkedDeps(plan: LinkPlan, states: Map<string, JobState>, inserted: InsertedJob[]): string[] {
  const missing = plan.existing.filter((id) => !states.has(id));
  if (missing.length) throw new UnknownDependencyError(missing);
  const byId = new Map(inserted.map((j) => [j.id, j]));
  for (const w of plan.waiting) byId.get(w.id)!.state = 'waiting';
  return plan.existing.filter((id) => isFinished(states.get(id)!));
}

/** New jobs that settled at once are told as inserted, in their new state; anything else as follow-ups and ended jobs. */
export function tellSettledAtSubmit(settled: Settled, inserted: InsertedJob[], out: Settled): void {
  const byId = new Map(inserted.map((j) => [j.id, j]));
  for (const j of settled.followUps) {
    const mine = byId.get(j.id);
    if (mine) mine.state = j.state;
    else out.followUps.push(j);
  }
  for (const e of settled.ended) {
    const mine = byId.get(e.id);
    if (mine) mine.state = e.state;
    else out.ended.push(e);
  }
  out.finishedBatches.push(...settled.finishedBatches);
}
