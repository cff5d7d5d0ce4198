/** Maps rows as PostgreSQL returns them to the Store's shapes. */
import type { BatchRow } from '../../core/batch.js';
import type { JobRow, JobState, Payload } from '../../core/job.js';
import { compareJobIds } from '../dependency-plan.js';
import type { ClaimedJob, DependencyRow, InsertedJob, TokenRecord } from '../store.js';

/** Columns of a whole job; ids cast to text, names as JobRow spells them. */
export const JOB_COLUMNS = `id::text AS id, task, state, input, input_bytes AS "inputBytes", result, result_bytes AS "resultBytes",
  error, errors::text AS errors, priority, run_at AS "runAt", attempt, max_attempts AS "maxAttempts", timeout_ms AS "timeoutMs",
  unique_key AS "uniqueKey", concurrency_key AS "concurrencyKey", batch_id::text AS "batchId", origin, trace_context AS "traceContext", worker_id AS "workerId",
  lease_token::text AS "leaseToken", lease_expires_at AS "leaseExpiresAt", progress_done AS "progressDone", progress_total AS "progressTotal",
  progress_message AS "progressMessage", created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt",
  step, deps_pending AS "depsPending", has_dependents AS "hasDependents"`;

export const BATCH_COLUMNS = `id::text AS id, title, total, succeeded, failed, cancelled, on_finish_job_id::text AS "onFinishJobId",
  created_at AS "createdAt", finished_at AS "finishedAt", is_flow AS "isFlow"`;

export const TOKEN_COLUMNS = 'id::text AS id, name, scope, tasks, hash, created_at AS "createdAt", revoked_at AS "revokedAt"';

export const SCHEDULE_COLUMNS = `s.name, s.task, s.cron, s.timezone, s.input, s.overlap, s.catch_up AS "catchUp",
  s.catch_up_limit AS "catchUpLimit", s.jitter_ms AS "jitterMs", s.priority, s.description, s.paused,
  s.next_tick_at AS "nextTickAt", s.last_tick_at AS "lastTickAt", s.last_job_id::text AS "lastJobId", j.state AS "lastJobState",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;

type Raw = Record<string, unknown>;

/** A payload is kept in one of two columns: JSON text, or raw bytes. */
export function payloadColumns(p: Payload | null): [string | null, Buffer | null] {
  if (p === null) return [null, null];
  return typeof p === 'string' ? [p, null] : [null, p];
}

function payload(text: unknown, bytes: unknown): Payload | null {
  return (text as string | null) ?? (bytes as Buffer | null);
}

export function jobRow(r: Raw): JobRow {
  const row = r as unknown as JobRow & { inputBytes?: Buffer | null; resultBytes?: Buffer | null };
  row.input = payload(r.input, r.inputBytes)!;
  row.result = payload(r.result, r.resultBytes);
  delete row.inputBytes;
  delete row.resultBytes;
  delete (row as { hasDependents?: unknown }).hasDependents;
  return row;
}

export function claimedJob(r: Raw): ClaimedJob {
  return {
    id: r.id as string,
    task: r.task as string,
    input: payload(r.input, r.inputBytes)!,
    attempt: r.attempt as number,
    maxAttempts: r.maxAttempts as number,
    priority: r.priority as number,
    timeoutMs: r.timeoutMs as number | null,
    batchId: r.batchId as string | null,
    createdAt: r.createdAt as number,
    leaseToken: r.leaseToken as string,
    leaseExpiresAt: r.leaseExpiresAt as number,
    uniqueKey: (r.uniqueKey ?? null) as string | null,
    ...(r.dependencies != null && { hasDependencies: true, dependencies: claimedDependencies(r.id as string, r.dependencies as unknown[][]) }),
  };
}

/**
 * The dependencies claim_jobs sends with a job that waited for others: one array per edge, [depId,
 * name, policy, task, state, result (text), resultBytes (base64), error], in no order (ordering
 * each job's edges in SQL cost a sort per claimed job); put in job id order here.
 */
function claimedDependencies(jobId: string, list: unknown[][]): DependencyRow[] {
  return list
    .map(([depId, name, policy, task, state, result, resultBytes, error]) => ({
      jobId,
      depId: depId as string,
      name: (name ?? null) as string | null,
      policy: policy as DependencyRow['policy'],
      task: task as string,
      state: state as JobState,
      result: (result as string | null) ?? (resultBytes == null ? null : Buffer.from(resultBytes as string, 'base64')),
      error: (error ?? null) as string | null,
    }))
    .sort((a, b) => compareJobIds(a.depId, b.depId));
}

/** A row of get_dependencies: an edge with its job's state, result and error. */
export function dependencyRow(r: Raw): DependencyRow {
  return {
    jobId: r.jobId as string,
    depId: r.depId as string,
    name: r.name as string | null,
    policy: r.policy as DependencyRow['policy'],
    task: r.task as string,
    state: r.state as JobState,
    result: payload(r.result, r.resultBytes),
    error: r.error as string | null,
  };
}

/** A row of the batch_add_finished function: the batch, and the onFinish job it enqueued (if any). */
export function finishedBatch(r: Raw, followUps: InsertedJob[]): BatchRow {
  if (r.follow_up_id != null) {
    followUps.push({
      id: r.follow_up_id as string,
      task: r.follow_up_task as string,
      deduplicated: r.follow_up_deduplicated as boolean,
      state: r.follow_up_state as JobState,
      runAt: Number(r.follow_up_run_at),
    });
  }
  return {
    id: r.id as string,
    title: r.title as string | null,
    total: r.total as number,
    succeeded: r.succeeded as number,
    failed: r.failed as number,
    cancelled: r.cancelled as number,
    onFinishJobId: r.on_finish_job_id as string | null,
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

export function tokenRow(r: Raw): TokenRecord {
  return r as unknown as TokenRecord;
}

/**
 * Lease tokens are bigints. A token that is not one (a typo, a token from another store) can
 * never match: it is sent as NULL, which equals nothing.
 */
export function tokenParam(token: string): string | null {
  return /^-?\d{1,19}$/.test(token) && fitsBigint(token) ? token : null;
}

/** Ids come checked from the API; one that cannot be a bigint matches no row. */
export function idParam(id: string): string | null {
  return /^\d{1,19}$/.test(id) && fitsBigint(id) ? id : null;
}

function fitsBigint(digits: string): boolean {
  const n = BigInt(digits);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}
