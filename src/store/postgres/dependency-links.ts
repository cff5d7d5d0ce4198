/**
 * The PostgreSQL side of dependencies (src/core/dependencies.ts): linking new jobs to the jobs
 * they wait for, and settling waiting jobs when those finish (settle_dependents, migration 009).
 * Every call runs in the caller's transaction. finish_jobs settles in the database itself; the
 * other paths that end jobs (cancel, purge, reap) call `settle` here.
 */
import type { JobState } from '../../core/job.js';
import { checkedDeps, emptySettled, type InsertShape, leftToMark, planLinks, type Settled, tellSettledAtSubmit } from '../dependency-plan.js';
import type { EndedJob, InsertedJob, NewJob } from '../store.js';
import { finishedBatch } from './rows.js';

type Raw = Record<string, unknown>;
export type Run = <T = Raw>(name: string, params: unknown[]) => Promise<T[]>;
export type { Settled };

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
export async function linkNew(run: Run, jobs: NewJob[], shapes: InsertShape[], inserted: InsertedJob[], now: number, out: Settled): Promise<void> {
  const plan = planLinks(jobs, inserted);
  if (!plan) return;
  const left = leftToMark(plan, jobs, inserted, shapes);
  // An id that cannot be a bigint matches no job: it is reported missing.
  const found = left.deps.length
    ? await run<{ id: string; state: JobState; retried: number }>('mark_has_dependents', [left.deps.filter((id) => /^\d{1,18}$/.test(id))])
    : [];
  const finished = checkedDeps(plan, new Map(found.map((r) => [r.id, r.state])), inserted);
  const retried = new Map(found.map((r) => [r.id, r.retried]));
  const e = plan.edges;
  await run('insert_deps', [
    e.map((x) => x.jobId),
    e.map((x) => x.depId),
    e.map((x) => x.name),
    e.map((x) => x.policy),
    e.map((x) => retried.get(x.depId) ?? 0),
  ]);
  if (left.waiting.length) await run('mark_waiting', [left.waiting.map((w) => w.id), left.waiting.map((w) => w.n)]);
  if (finished.length === 0) return;
  const settled = emptySettled();
  await settle(
    run,
    finished,
    plan.waiting.map((w) => w.id),
    now,
    settled,
  );
  tellSettledAtSubmit(settled, inserted, out);
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
