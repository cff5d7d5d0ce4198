import type { Dependencies } from './dependencies.js';

/** What a handler receives besides its input. */
export interface JobContext {
  readonly job: {
    readonly id: string;
    readonly task: string;
    /** 1 on the first attempt. */
    readonly attempt: number;
    readonly maxAttempts: number;
    readonly priority: number;
    readonly batchId: string | null;
    /** The job's unique key, if it has one (a schedule's job: `NAME@TICK`, the tick it is for). */
    readonly uniqueKey: string | null;
    readonly createdAt: string;
  };
  /** The worker running this attempt. */
  readonly workerId: string;
  /**
   * Aborts when the job is cancelled, times out, loses its lease, or the worker shuts down.
   * `signal.reason` says which (a JobTimeoutError, LeaseLostError, JobCancelledError…).
   */
  readonly signal: AbortSignal;
  /**
   * The jobs this job waited for (`after`, or its flow's edges), with their states and results:
   * `ctx.dependencies.result('fetch')`, by step name, name or id. Empty for a job that waited for none.
   */
  readonly dependencies: Dependencies;
  /** Records progress (stored, shown in listings, streamed to waiters). Cheap to call often. */
  progress(done: number, total: number, message?: string): void;
}
