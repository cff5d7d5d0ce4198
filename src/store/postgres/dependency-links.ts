/**
 * The PostgreSQL side of dependencies (src/core/dependencies.ts): linking new jobs to the jobs
 * they wait for, and settling waiting jobs when those finish (settle_dependents, migration 009).
 * Every call runs in the caller's transaction. finish_jobs settles in the database itself; the
 * other paths that end jobs (cancel, purge, reap) call `settle` here.
 */
import type { BatchRow } from '../../core/batch.js';
import type { DependencyPolicy } from '../../core/dependencies.js';
import { UnknownDependencyError } from '../../core/errors.js';
import { isFinished, type JobState } from '../../core/job.js';
import type { EndedJob, InsertedJob, NewJob } from '../store.js';
import { finishedBatch } from './rows.js';

type Raw = Record<string, unknown>;
export type Run = <T = Raw>(name: string, params: unknown[]) => Promise<T[]>;

export interface Settled {
  followUps: InsertedJob[];
  ended: EndedJob[];
  finishedBatches: BatchRow[];
}

/** A row of settle_dependents: a waiting job queued ('q', or still waiting) or ended ('e'). */
interface SettleRow {
  kind: 'q' | 'e';
  id: string;
  task: string;
  state: JobState;
  runAt: number | null;
  batchId: string | null;
  error: string | null;
}

/**
 * Links each new job that has `after` to what it waits for (see the SQLite twin); throws
 * UNKNOWN_DEPENDENCY, which rolls the caller's transaction back. Jobs waited for are locked (in id
 * order) before the edges are read and written: a job finishing meanwhile settles after this
 * transaction commits, and so sees the new edges.
 */
export async function linkNew(run: Run, jobs: NewJob[], inserted: InsertedJob[], now: number, out: Settled): Promise<void> {
  const edges = { job: [] as string[], dep: [] as string[], name: [] as (string | null)[], policy: [] as DependencyPolicy[] };
  const waiting = { id: [] as string[], n: [] as number[] };
  const existing = new Set<string>();
  jobs.forEach((job, i) => {
    if (!job.after?.length || inserted[i].deduplicated) return;
    const seen = new Set<string>();
    for (const d of job.after) {
      const depId = 'id' in d.on ? d.on.id : inserted[d.on.index].id;
      if (seen.has(depId)) continue;
      seen.add(depId);
      if ('id' in d.on) existing.add(depId);
      edges.job.push(inserted[i].id);
      edges.dep.push(depId);
      edges.name.push(d.name);
      edges.policy.push(d.policy);
    }
    waiting.id.push(inserted[i].id);
    waiting.n.push(seen.size);
  });
  if (waiting.id.length === 0) return;
  const wanted = [...new Set(edges.dep)].filter((id) => /^\d{1,18}$/.test(id));
  const found = await run<{ id: string; state: JobState }>('mark_has_dependents', [wanted]);
  const states = new Map(found.map((r) => [r.id, r.state]));
  const missing = [...existing].filter((id) => !states.has(id));
  if (missing.length) throw new UnknownDependencyError(missing);
  await run('insert_deps', [edges.job, edges.dep, edges.name, edges.policy]);
  await run('mark_waiting', [waiting.id, waiting.n]);
  const byId = new Map(inserted.map((j) => [j.id, j]));
  for (const id of waiting.id) byId.get(id)!.state = 'waiting';
  const finishedDeps = [...existing].filter((id) => isFinished(states.get(id)!));
  if (finishedDeps.length === 0) return;
  const settled: Settled = { followUps: [], ended: [], finishedBatches: [] };
  await settle(run, finishedDeps, waiting.id, now, settled);
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

/** These jobs reached a final state (and have dependents): settles their edges, and counts ended dependents in their batches. */
export async function settle(run: Run, finished: string[], only: string[] | null, now: number, out: Settled): Promise<void> {
  const ids = [...finished].sort((a, b) => Number(a) - Number(b));
  const rows = await run<SettleRow>('settle_dependents', [ids, only, now]);
  const these: Settled = { followUps: [], ended: [], finishedBatches: [] };
  addSettled(rows, these);
  await countEnded(run, these.ended, now, these);
  out.followUps.push(...these.followUps);
  out.ended.push(...these.ended);
  out.finishedBatches.push(...these.finishedBatches);
}

/** Rows of settle_dependents (or finish_jobs's 'q' and 'e' rows) into follow-ups and ended jobs. */
export function addSettled(rows: SettleRow[], out: { followUps: InsertedJob[]; ended: EndedJob[] }): void {
  for (const r of rows) {
    if (r.kind === 'q') {
      if (r.state === 'queued') out.followUps.push({ id: r.id, task: r.task, deduplicated: false, state: 'queued', runAt: Number(r.runAt) });
    } else {
      out.ended.push({ id: r.id, task: r.task, state: r.state as EndedJob['state'], batchId: r.batchId, error: r.error ?? 'null' });
    }
  }
}

/** Ended jobs count in their batches, in batch id order (every path locks batches in that order). */
export async function countEnded(run: Run, ended: EndedJob[], now: number, out: Settled): Promise<void> {
  const perBatch = new Map<string, { f: number; c: number }>();
  for (const e of ended) {
    if (e.batchId === null) continue;
    const n = perBatch.get(e.batchId) ?? { f: 0, c: 0 };
    if (e.state === 'failed') n.f++;
    else n.c++;
    perBatch.set(e.batchId, n);
  }
  for (const [batchId, n] of [...perBatch].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const [b] = await run('batch_add_finished', [batchId, 0, n.f, n.c, now]);
    if (b) out.finishedBatches.push(finishedBatch(b, out.followUps));
  }
}
