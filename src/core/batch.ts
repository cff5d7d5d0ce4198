/** A batch: a set of jobs submitted together, with live counts and an optional finish job. */

export interface BatchRow {
  id: string;
  title: string | null;
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  onFinishJobId: string | null;
  createdAt: number;
  finishedAt: number | null;
  /** Submitted with offload.flow(): its jobs wait for each other. */
  isFlow?: boolean;
}

export interface Batch {
  id: string;
  /** `flow` when submitted with offload.flow() (its jobs wait for each other). */
  kind: 'batch' | 'flow';
  title: string | null;
  state: 'running' | 'finished';
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Jobs not finished yet. */
  pending: number;
  /** True when finished with every job succeeded. */
  ok: boolean;
  onFinishJobId: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** What `batch.wait()` resolves to, and what the onFinish job receives as `input.batch`. */
export interface BatchOutcome {
  id: string;
  title: string | null;
  ok: boolean;
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** A job of a batch that did not succeed, as a finished batch lists it. */
export interface BatchFailure {
  id: string;
  task: string;
  state: 'failed' | 'cancelled';
  /** The job's last error (null for a job cancelled before it ran). */
  error: { message: string; code?: string } | null;
}

/** How many failures a finished batch lists; its counts say how many there are in all. */
export const BATCH_FAILURES_LISTED = 100;

/** A finished batch's outcome with its failures listed: what a foreground batch answers. */
export interface BatchResult extends BatchOutcome {
  /** The jobs that failed or were cancelled, by id, at most BATCH_FAILURES_LISTED (the latest). */
  failures: BatchFailure[];
}

export function toBatch(row: BatchRow): Batch {
  const done = row.succeeded + row.failed + row.cancelled;
  const finished = row.finishedAt !== null;
  return {
    id: row.id,
    kind: row.isFlow ? 'flow' : 'batch',
    title: row.title,
    state: finished ? 'finished' : 'running',
    total: row.total,
    succeeded: row.succeeded,
    failed: row.failed,
    cancelled: row.cancelled,
    pending: row.total - done,
    ok: finished && row.succeeded === row.total,
    onFinishJobId: row.onFinishJobId,
    createdAt: new Date(row.createdAt).toISOString(),
    finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt).toISOString(),
  };
}

export function batchOutcome(row: BatchRow): BatchOutcome {
  return {
    id: row.id,
    title: row.title,
    ok: row.succeeded === row.total,
    total: row.total,
    succeeded: row.succeeded,
    failed: row.failed,
    cancelled: row.cancelled,
  };
}

/**
 * The input of a batch's onFinish job: the batch's outcome plus the input the submitter gave.
 * Built by the store, as JSON text, in the transaction that finishes the batch.
 */
export function onFinishInputText(row: BatchRow, userInputText: string): string {
  return `{"batch":${JSON.stringify(batchOutcome(row))},"input":${userInputText}}`;
}
