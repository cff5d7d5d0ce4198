/**
 * The executor phase of a worker: runs a claimed job's handler with its `ctx`, its timeout and
 * its abort signal, and turns how the handler ended into the one transition to record (the rules
 * in core/transitions.ts). It writes nothing itself: the worker hands the outcome to the completer.
 */
import type { Clock } from '../core/clock.js';
import { JobTimeoutError, NO_HANDLER_CODE, OffloadError } from '../core/errors.js';
import { decodePayload, type JobProgress } from '../core/job.js';
import type { ResolvedTaskSettings } from '../core/task.js';
import { decide, failFor, type HandlerResult, type Transition } from '../core/transitions.js';
import type { ClaimedJob } from '../store/store.js';
import { ActiveJob } from './active-job.js';
import type { TaskLookup } from './task-catalog.js';

export interface Outcome {
  transition: Transition;
  /** SuspendTask: the whole task pauses until then (before the job is released). */
  suspendUntil?: number;
}

export interface ExecutorDeps {
  registry: TaskLookup;
  clock: Clock;
  workerId: string;
  /** A handler reported progress. */
  onProgress(job: ActiveJob, progress: JobProgress): void;
  /** The attempt ended (returned, threw, timed out): record this. */
  onOutcome(job: ActiveJob, outcome: Outcome): void;
  /** Calls the handler (`call`) for a claimed job, with whatever it wraps around it (a trace span). */
  runHandler?: HandlerRunner;
}

export type HandlerRunner = (row: ClaimedJob, call: () => unknown) => unknown;

export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  /** Starts the handler of a claimed job; the outcome comes through `onOutcome`. */
  run(row: ClaimedJob): ActiveJob {
    const definition = this.deps.registry.get(row.task);
    const job = new ActiveJob(row, definition, this.deps.workerId, this.deps.onProgress);
    if (!definition) {
      // Deferred, so the caller has the job before its outcome arrives.
      queueMicrotask(() =>
        this.settle(job, { error: new OffloadError(NO_HANDLER_CODE, `worker ${this.deps.workerId} has no handler for task "${row.task}"`) }),
      );
      return job;
    }
    if (row.timeoutMs !== null) job.timeoutTimer = this.deps.clock.setTimer(() => this.timeOut(job), row.timeoutMs);
    let result: unknown;
    try {
      const call = () => definition.handler(decodePayload(row.input), job);
      result = this.deps.runHandler ? this.deps.runHandler(row, call) : call();
    } catch (error) {
      queueMicrotask(() => this.settle(job, { error }));
      return job;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.settle(job, { value }),
        (error) => this.settle(job, { error }),
      );
    } else {
      queueMicrotask(() => this.settle(job, { value: result }));
    }
    return job;
  }

  private settle(job: ActiveJob, result: HandlerResult): void {
    if (job.settled) return;
    job.settled = true;
    job.timeoutTimer?.cancel();
    if (job.detached) return;
    const decision = decide(attemptOf(job), settingsOf(job), result, this.deps.clock.now());
    this.deps.onOutcome(job, { transition: decision.transition, suspendUntil: decision.suspendUntil });
  }

  /** Past its timeout: the failure is recorded now and the slot freed; a handler that ignores its signal runs on, unrecorded. */
  private timeOut(job: ActiveJob): void {
    if (job.settled || job.detached) return;
    const error = new JobTimeoutError(job.row.id, job.row.timeoutMs!);
    job.abort(error);
    job.detached = true;
    this.deps.onOutcome(job, failFor(attemptOf(job), settingsOf(job), error, this.deps.clock.now(), false));
  }
}

function attemptOf(job: ActiveJob) {
  return { id: job.row.id, token: job.row.leaseToken, attempt: job.row.attempt, maxAttempts: job.row.maxAttempts };
}

/** A job of a task without a handler here fails by the attempts it was claimed with, at once. */
function settingsOf(job: ActiveJob): ResolvedTaskSettings {
  return job.definition?.settings ?? ({ maxAttempts: job.row.maxAttempts, backoff: { type: 'fixed', delayMs: 0 } } as ResolvedTaskSettings);
}
