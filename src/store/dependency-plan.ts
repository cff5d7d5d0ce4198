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

/**
 * What each new job is inserted with, so that linking it after the insert writes its row no more:
 * `pending`, how many distinct jobs it waits for (null: it does not wait; it is stored `waiting`
 * with that count); `awaited`, whether a later job of the same submission waits for it. Counted
 * before the insert, where a job given by index and one given by id are distinct; should a
 * deduplicated job make them one, `leftToMark` says so.
 */
export interface InsertShape {
  pending: number | null;
  awaited: boolean;
}

export function insertShapes(jobs: NewJob[]): InsertShape[] {
  const awaited = new Set<number>();
  const shapes = jobs.map((job): InsertShape => {
    if (!job.after?.length) return { pending: null, awaited: false };
    const keys = new Set<string>();
    for (const d of job.after) {
      if ('id' in d.on) keys.add(`id ${d.on.id}`);
      else {
        keys.add(`new ${d.on.index}`);
        awaited.add(d.on.index);
      }
    }
    return { pending: keys.size, awaited: false };
  });
  for (const i of awaited) shapes[i].awaited = true;
  return shapes;
}

/**
 * For jobs inserted with `insertShapes`: the jobs waited for whose rows still need marking (stored
 * before, or a deduplicated job's holder), and the waiting jobs whose count the insert got wrong.
 */
export function leftToMark(
  plan: LinkPlan,
  jobs: NewJob[],
  inserted: InsertedJob[],
  shapes: InsertShape[],
): { deps: string[]; waiting: { id: string; n: number }[] } {
  const markedAtInsert = new Set(inserted.filter((j, i) => shapes[i].awaited && !j.deduplicated).map((j) => j.id));
  const pendingAtInsert = new Map(inserted.map((j, i) => [j.id, jobs[i].after?.length && !j.deduplicated ? shapes[i].pending : null]));
  return {
    deps: plan.deps.filter((id) => !markedAtInsert.has(id)),
    waiting: plan.waiting.filter((w) => pendingAtInsert.get(w.id) !== w.n),
  };
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

/** Job ids (bigint digits) in numeric order: how both stores order a job's dependencies. */
export function compareJobIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
