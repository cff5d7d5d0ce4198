import type { Batch, BatchFailure, BatchOutcome, BatchResult } from '../core/batch.js';
import { JobCancelledError, JobFailedError } from '../core/errors.js';
import { decodePayload, type Job, type JobRow, type JobState, toJob } from '../core/job.js';
import type { Flow } from './flows.js';
import type { WaitOptions } from './waiters.js';

/** What handles need from the Offload instance that made them. */
export interface HandleHost {
  getJob(id: string): Promise<Job>;
  cancel(id: string): Promise<Job>;
  waitForJob(id: string, opts?: WaitOptions): Promise<JobRow>;
  getBatch(id: string): Promise<Batch>;
  waitForBatch(id: string, opts?: WaitOptions): Promise<BatchOutcome>;
  batchFailures(id: string): Promise<BatchFailure[]>;
  getFlow(id: string): Promise<Flow>;
  cancelBatch(id: string): Promise<number>;
}

/** A submitted job: its id, and ways to read it, await it and cancel it. */
export class JobHandle<I = unknown, O = unknown> {
  constructor(
    private readonly host: HandleHost,
    readonly id: string,
    readonly task: string,
    /** True when an existing job held the unique key and this handle points at it. */
    readonly deduplicated: boolean,
    /** The state when submitted (for a deduplicated job, the existing job's state). */
    readonly state: JobState,
    /** True when the submission's idempotency key had been used: this is the job that first submission stored. */
    readonly replayed = false,
  ) {}

  /** The job as it stands now. */
  status(): Promise<Job<I, O>> {
    return this.host.getJob(this.id) as Promise<Job<I, O>>;
  }

  /** Waits until the job finishes; resolves with its result, rejects with JobFailedError / JobCancelledError. */
  async result(opts?: WaitOptions): Promise<O> {
    return resultOf<O>(await this.host.waitForJob(this.id, opts));
  }

  /** Waits until the job finishes, whatever the outcome, and returns the job. */
  async finished(opts?: WaitOptions): Promise<Job<I, O>> {
    return toJob<I, O>(await this.host.waitForJob(this.id, opts));
  }

  cancel(): Promise<Job<I, O>> {
    return this.host.cancel(this.id) as Promise<Job<I, O>>;
  }

  toJSON(): { id: string; task: string; deduplicated: boolean; state: JobState; replayed: boolean } {
    return { id: this.id, task: this.task, deduplicated: this.deduplicated, state: this.state, replayed: this.replayed };
  }
}

export function resultOf<O>(row: JobRow): O {
  if (row.state === 'succeeded') return decodePayload(row.result) as O;
  if (row.state === 'cancelled') throw new JobCancelledError(row.id, row.task);
  const error = row.error ? (JSON.parse(row.error) as { message: string; code?: string }) : { message: 'unknown error' };
  throw new JobFailedError(row.id, row.task, error);
}

/** A submitted batch: live counts and a promise of the outcome. */
export class BatchHandle {
  constructor(
    private readonly host: HandleHost,
    readonly id: string,
    readonly jobs: JobHandle[],
    /** True when the submission's idempotency key had been used: this is the batch that first submission stored. */
    readonly replayed = false,
  ) {}

  /** The batch with its live counts. */
  status(): Promise<Batch> {
    return this.host.getBatch(this.id);
  }

  /** Resolves when every job of the batch has finished: `{ ok, succeeded, failed, cancelled, total }`. */
  wait(opts?: WaitOptions): Promise<BatchOutcome> {
    return this.host.waitForBatch(this.id, opts);
  }

  /** Like `wait`, with the jobs that failed or were cancelled listed (the first 100). */
  async result(opts?: WaitOptions): Promise<BatchResult> {
    const outcome = await this.host.waitForBatch(this.id, opts);
    return { ...outcome, failures: await this.host.batchFailures(this.id) };
  }
}

/** A submitted flow: a batch whose jobs are named steps that wait for each other. */
export class FlowHandle extends BatchHandle {
  /** The steps' jobs by step name. */
  readonly steps: Record<string, JobHandle>;

  constructor(host: HandleHost, id: string, jobs: JobHandle[], stepNames: string[], replayed = false) {
    super(host, id, jobs, replayed);
    this.steps = Object.fromEntries(stepNames.map((name, i) => [name, jobs[i]]));
    this.flowHost = host;
  }

  private readonly flowHost: HandleHost;

  /** The flow's counts and every step's state, in one read. */
  read(): Promise<Flow> {
    return this.flowHost.getFlow(this.id);
  }

  /** Cancels the steps that have not started (running ones finish); resolves to how many. */
  cancel(): Promise<number> {
    return this.flowHost.cancelBatch(this.id);
  }
}
