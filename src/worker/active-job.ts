import type { Timer } from '../core/clock.js';
import type { JobContext } from '../core/context.js';
import { Dependencies, type Dependency } from '../core/dependencies.js';
import { decodePayload, type JobError, type JobProgress } from '../core/job.js';
import type { TaskDefinition } from '../core/task.js';
import type { ClaimedJob } from '../store/store.js';

/**
 * One attempt of one job inside a worker, and the `ctx` its handler receives. The AbortSignal is
 * made only if the handler reads it: most handlers never do, and an AbortController per job is
 * a measurable cost at tens of thousands of jobs a second.
 */
export class ActiveJob implements JobContext {
  readonly job: JobContext['job'];
  /** The handler returned or threw. */
  settled = false;
  /**
   * The worker no longer records anything for this attempt: it timed out (failure recorded),
   * was cancelled, lost its lease, or was released at shutdown.
   */
  detached = false;
  timeoutTimer: Timer | undefined;
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private resolveDone!: () => void;
  /** Resolves when the worker lets go of the job (its outcome written or given up). */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(
    readonly row: ClaimedJob,
    readonly definition: TaskDefinition | undefined,
    readonly workerId: string,
    private readonly onProgress: (job: ActiveJob, progress: JobProgress) => void,
  ) {
    this.job = {
      id: row.id,
      task: row.task,
      attempt: row.attempt,
      maxAttempts: row.maxAttempts,
      priority: row.priority,
      batchId: row.batchId,
      uniqueKey: row.uniqueKey,
      createdAt: new Date(row.createdAt).toISOString(),
    };
  }

  private deps: Dependencies | undefined;

  get dependencies(): Dependencies {
    this.deps ??= new Dependencies((this.row.dependencies ?? []).map(toDependency));
    return this.deps;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  progress(done: number, total: number, message?: string): void {
    if (!Number.isFinite(done) || !Number.isFinite(total)) throw new RangeError('ctx.progress(done, total): both must be finite numbers');
    if (this.detached) return;
    this.onProgress(this, message === undefined ? { done, total } : { done, total, message: String(message).slice(0, 1000) });
  }

  /** Marks the job let go of. */
  release(): void {
    this.timeoutTimer?.cancel();
    this.resolveDone();
  }
}

function toDependency(r: NonNullable<ClaimedJob['dependencies']>[number]): Dependency {
  return {
    id: r.depId,
    name: r.name,
    task: r.task,
    state: r.state,
    result: decodePayload(r.result),
    error: r.error === null ? null : (JSON.parse(r.error) as JobError),
    policy: r.policy,
  };
}
