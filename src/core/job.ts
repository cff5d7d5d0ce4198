/**
 * The job record: what a submission becomes, what workers change, what users read back.
 * `JobRow` is the store's form (times in ms, payloads encoded); `Job` is the public form, the
 * same shape in the library, the CLI's --json and the HTTP API (ids are strings, times ISO 8601).
 */

/** `waiting`: for other jobs to finish (dependencies); never claimed until it becomes `queued`. */
export const JOB_STATES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (JOB_STATES as readonly string[]).includes(value);
}

export function isFinished(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** A payload as stored: JSON text, or raw bytes (jobs that came in through Gearman). */
export type Payload = string | Buffer;

export interface JobError {
  message: string;
  code?: string;
  name?: string;
  stack?: string;
  /** The attempt that ended with this error. */
  attempt: number;
  at: string;
}

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
}

export interface Job<I = unknown, O = unknown> {
  id: string;
  task: string;
  state: JobState;
  input: I;
  result: O | null;
  error: JobError | null;
  /** Errors of earlier attempts, oldest first (the last ten). */
  errors: JobError[];
  attempt: number;
  maxAttempts: number;
  priority: number;
  progress: JobProgress | null;
  uniqueKey: string | null;
  concurrencyKey: string | null;
  batchId: string | null;
  /** Its step name, when it was submitted as a step of a flow. */
  step: string | null;
  /** While waiting: how many of the jobs it waits for have not finished yet; else null. */
  waitingFor: number | null;
  origin: string | null;
  timeoutMs: number | null;
  workerId: string | null;
  runAt: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  leaseExpiresAt: string | null;
}

export interface JobRow {
  id: string;
  task: string;
  state: JobState;
  input: Payload;
  result: Payload | null;
  error: string | null;
  errors: string | null;
  priority: number;
  runAt: number;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  uniqueKey: string | null;
  concurrencyKey: string | null;
  batchId: string | null;
  step: string | null;
  /** Jobs it waits for that have not finished (null: it never waited for any). */
  depsPending: number | null;
  origin: string | null;
  /** The W3C `traceparent` it was submitted under (observability/tracing.ts); not shown as part of the job. */
  traceContext?: string | null;
  workerId: string | null;
  /**
   * The fencing token of the running attempt, or of the attempt that finished the job (so a
   * repeated delivery of its outcome is recognised). Internal: never shown to anyone.
   */
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  progressDone: number | null;
  progressTotal: number | null;
  progressMessage: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Decodes a stored payload: JSON text becomes a value, bytes stay a Buffer. */
export function decodePayload(payload: Payload | null): unknown {
  if (payload === null) return null;
  if (typeof payload === 'string') return JSON.parse(payload);
  return payload;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function toJob<I = unknown, O = unknown>(row: JobRow): Job<I, O> {
  return {
    id: row.id,
    task: row.task,
    state: row.state,
    input: decodePayload(row.input) as I,
    result: decodePayload(row.result) as O | null,
    error: row.error === null ? null : (JSON.parse(row.error) as JobError),
    errors: row.errors === null ? [] : (JSON.parse(row.errors) as JobError[]),
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    priority: row.priority,
    progress: row.progressTotal === null ? null : progressOf(row),
    uniqueKey: row.uniqueKey,
    concurrencyKey: row.concurrencyKey,
    batchId: row.batchId,
    step: row.step ?? null,
    waitingFor: row.state === 'waiting' ? (row.depsPending ?? 0) : null,
    origin: row.origin,
    timeoutMs: row.timeoutMs,
    workerId: row.workerId,
    runAt: iso(row.runAt)!,
    createdAt: iso(row.createdAt)!,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    leaseExpiresAt: row.state === 'running' ? iso(row.leaseExpiresAt) : null,
  };
}

function progressOf(row: JobRow): JobProgress {
  const progress: JobProgress = { done: row.progressDone ?? 0, total: row.progressTotal ?? 0 };
  if (row.progressMessage !== null) progress.message = row.progressMessage;
  return progress;
}

/** Builds the stored error of a failed attempt from whatever a handler threw. */
export function jobErrorOf(err: unknown, attempt: number, now: number, fallbackCode: string): JobError {
  const at = new Date(now).toISOString();
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const out: JobError = { message: err.message || err.name, name: err.name, code: typeof code === 'string' ? code : fallbackCode, attempt, at };
    if (err.stack) out.stack = err.stack.split('\n').slice(0, 20).join('\n');
    return out;
  }
  return { message: typeof err === 'string' ? err : safeString(err), code: fallbackCode, attempt, at };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A job as JSON for the CLI's --json and the HTTP API: ids as strings, bytes as text or base64. */
export function jobToJson(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    task: job.task,
    state: job.state,
    input: payloadToJson(job.input),
    result: payloadToJson(job.result),
    error: job.error,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    priority: job.priority,
    progress: job.progress,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    runAt: job.runAt,
    uniqueKey: job.uniqueKey,
    concurrencyKey: job.concurrencyKey,
    batchId: job.batchId,
    step: job.step,
    waitingFor: job.waitingFor,
    origin: job.origin,
    timeoutMs: job.timeoutMs,
    workerId: job.workerId,
    leaseExpiresAt: job.leaseExpiresAt,
    errors: job.errors,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw bytes (jobs from Gearman) become their text when they are valid UTF-8, and
 * `{"$base64": "…"}` otherwise; JSON values pass through.
 */
export function payloadToJson(value: unknown): unknown {
  if (!Buffer.isBuffer(value)) return value;
  try {
    return utf8.decode(value);
  } catch {
    return { $base64: value.toString('base64') };
  }
}
