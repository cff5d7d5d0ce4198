import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Alarm, type Clock, MAX_TIMER_MS, sleep, type Timer } from '../core/clock.js';
import { InvalidOptionError, JobCancelledError, LeaseLostError, OffloadError, SHUTDOWN_CODE } from '../core/errors.js';
import type { JobProgress } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import { Service } from '../core/service.js';
import { isTaskDefinition, type TaskDefinition } from '../core/task.js';
import type { Transition } from '../core/transitions.js';
import type { FinishStatus, GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob } from '../store/store.js';
import type { ActiveJob } from './active-job.js';
import type { WorkerBackend } from './backend.js';
import { ClaimedAhead } from './claimed-ahead.js';
import { Executor, type HandlerRunner, type Outcome } from './executor.js';
import { Fetcher } from './fetcher.js';
import { LeaseKeeper, type LostLease } from './lease-keeper.js';
import type { TaskLookup } from './task-catalog.js';

export type { TaskLookup } from './task-catalog.js';

export interface WorkerOptions {
  /** Jobs run at once by this worker (default 10). */
  concurrency?: number;
  /** Tasks this worker runs (definitions or names of tasks defined in this process); default all defined. */
  tasks?: (TaskDefinition<any, any> | string)[];
  /** A job whose worker is silent this long goes back to the queue (default 30 000 ms). */
  leaseMs?: number;
  /** How often leases are renewed (default leaseMs / 3). */
  heartbeatMs?: number;
  /** Backstop: look for work this often even without a wake-up (default 5 000 ms). */
  pollMs?: number;
  /** On stop, how long running jobs may take to finish before they are released (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /** Stable id for this worker (default: a random one). */
  id?: string;
  /** What the worker's record says it is, for listings (default `node`; a push dispatcher says `push`). */
  kind?: string;
  /**
   * While handlers finish within milliseconds, up to this many jobs are claimed ahead of the free
   * slots, so the next one starts at once and claims come in larger batches (default 100; 0: none).
   * Jobs held ahead show as running; unstarted after 250 ms, they go back to the queue.
   */
  claimAhead?: number;
  /**
   * A time-budgeted run: this long after start, the worker stops as `stop()` does (it claims no
   * more, running handlers get `shutdownTimeoutMs` to finish, jobs held ahead go back to the
   * queue), and `finished` resolves. Default: no limit.
   */
  runForMs?: number;
  /**
   * A run of at most this many jobs: the worker never holds more than what is left of it (jobs
   * claimed ahead count; one given back unstarted gives its place back), and once that many
   * have started and their handlers have ended, it stops and `finished` resolves. Default: no limit.
   */
  maxJobs?: number;
  /**
   * Stop once the worker is idle: nothing of its own runs or is held, and a claim finds no job
   * runnable now (jobs delayed, waiting to retry or of a suspended task wait for the next run).
   * Default false.
   */
  untilIdle?: boolean;
}

/** How a worker's run ended, as `worker.finished` tells it. */
export interface WorkerEnd {
  /**
   * `time`: runForMs was spent; `max-jobs`: maxJobs jobs ran; `idle`: untilIdle and nothing was
   * left to run; `stopped`: stop() was called (SIGTERM, `offload.close()`); `stop-requested`: an
   * operator asked it to stop over HTTP (it learnt at a heartbeat or a refused claim).
   */
  reason: 'time' | 'max-jobs' | 'idle' | 'stopped' | 'stop-requested';
  /** Jobs whose handler this worker started. */
  started: number;
}

export interface WorkerDeps {
  /** Where the jobs are: the store (`storeBackend`) or a server over HTTP (`src/remote`). */
  backend: WorkerBackend;
  clock: Clock;
  registry: TaskLookup;
  logger: Logger;
  /** Wraps each handler call (the Offload's trace span). */
  runHandler?: HandlerRunner;
}

/** After the shutdown timeout, how long outcomes still unwritten are retried before their leases are left to expire. */
const SHUTDOWN_WRITE_MS = 1500;

/**
 * Claims jobs of its tasks from its backend (the store, or a server over HTTP) and runs their
 * handlers, up to `concurrency` at once, in three phases with one job each: the fetcher claims as
 * many jobs as there are free slots, the executor runs them and decides each outcome, the group
 * commit writes the outcomes (with the next claim, in one transaction). Their leases are renewed
 * by the lease keeper on a timer of its own, so a busy handler never loses its lease.
 */
export class Worker extends Service {
  readonly id: string;
  readonly kind: string;
  readonly concurrency: number;
  readonly tasks: readonly string[];
  private readonly leaseMs: number;
  private readonly shutdownTimeoutMs: number;
  /** Jobs whose handler runs or whose outcome is being written: this worker holds their leases. */
  private readonly active = new Map<string, ActiveJob>();
  /** Of those, the ones whose handler still runs: they take a slot. */
  private handlersRunning = 0;
  private stopping = false;
  /** Aborted when a stopping worker gives up on outcomes it could not write. */
  private readonly writes = new AbortController();
  private readonly commit: GroupCommit;
  private readonly leases: LeaseKeeper;
  private readonly fetcher: Fetcher;
  private readonly executor: Executor;
  private readonly ahead: ClaimedAhead;
  /** Gives back jobs held ahead too long. */
  private readonly aheadExpiry: Alarm;
  private readonly startedAt: number;
  private readonly runForMs: number | undefined;
  private readonly maxJobs: number | undefined;
  private readonly untilIdle: boolean;
  /** Jobs whose handler this worker started (what maxJobs counts, with the jobs held ahead). */
  private startedJobs = 0;
  /** Why the run ended, when the worker ended it itself. */
  private endReason: WorkerEnd['reason'] | undefined;
  private runTimer: Timer | undefined;
  private resolveFinished!: (end: WorkerEnd) => void;
  /**
   * Resolves once the worker has stopped, its jobs finished or released and its outcomes written:
   * at the end of a budgeted run (runForMs, maxJobs, untilIdle), or after `stop()`.
   */
  readonly finished: Promise<WorkerEnd> = new Promise((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(
    private readonly deps: WorkerDeps,
    opts: WorkerOptions = {},
  ) {
    super();
    this.concurrency = positiveInt('concurrency', opts.concurrency ?? 10);
    this.leaseMs = positiveInt('leaseMs', opts.leaseMs ?? 30_000);
    const heartbeatMs = positiveInt('heartbeatMs', opts.heartbeatMs ?? Math.max(1, Math.floor(this.leaseMs / 3)));
    const pollMs = positiveInt('pollMs', opts.pollMs ?? 5000);
    this.shutdownTimeoutMs = nonNegativeInt('shutdownTimeoutMs', opts.shutdownTimeoutMs ?? 10_000);
    this.ahead = new ClaimedAhead(nonNegativeInt('claimAhead', opts.claimAhead ?? 100));
    this.aheadExpiry = new Alarm(deps.clock, () => this.releaseStale());
    this.runForMs = opts.runForMs === undefined ? undefined : positiveInt('runForMs', opts.runForMs);
    if (this.runForMs !== undefined && this.runForMs > MAX_TIMER_MS) throw new InvalidOptionError('runForMs', `must be at most ${MAX_TIMER_MS} ms (24.8 days)`);
    this.maxJobs = opts.maxJobs === undefined ? undefined : positiveInt('maxJobs', opts.maxJobs);
    if (opts.untilIdle !== undefined && typeof opts.untilIdle !== 'boolean') throw new InvalidOptionError('untilIdle', 'must be true or false');
    this.untilIdle = opts.untilIdle ?? false;
    if (heartbeatMs >= this.leaseMs) throw new InvalidOptionError('heartbeatMs', 'must be shorter than leaseMs, or leases expire between heartbeats');
    this.id = opts.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.kind = opts.kind ?? 'node';
    this.tasks = this.resolveTasks(opts.tasks);
    this.startedAt = deps.clock.now();
    const { backend, clock, logger, registry } = deps;
    this.commit = backend.commit;
    this.leases = new LeaseKeeper({
      touch: (p) => backend.touch(p),
      clock,
      logger,
      leaseMs: this.leaseMs,
      heartbeatMs,
      who: this.id,
      onLost: (lost) => this.onLost(lost),
      onBeat: () => (this.stopping ? Promise.resolve() : this.saveWorkerRecord()),
    });
    this.executor = new Executor({
      registry,
      clock,
      workerId: this.id,
      onProgress: (job, progress) => this.onProgress(job, progress),
      onOutcome: (job, outcome) => this.onOutcome(job, outcome),
      runHandler: deps.runHandler,
    });
    this.fetcher = new Fetcher({
      backend,
      commit: this.commit,
      clock,
      logger,
      workerId: this.id,
      tasks: this.tasks,
      leaseMs: this.leaseMs,
      pollMs,
      freeSlots: () => (this.stopping ? 0 : Math.min(this.concurrency - this.handlersRunning + this.ahead.wanted(clock.now()), this.budgetLeft())),
      claimsWait: !this.untilIdle,
      beforeFirstClaim: () => this.registerTasks(),
      onClaimed: (jobs) => this.onClaimed(jobs),
      onNoneRunnable: () => this.checkIdle(),
      onCancelled: (id) => this.onCancelled(id),
      onStopRequested: () => this.stopAsked(),
    });
  }

  private resolveTasks(tasks: WorkerOptions['tasks']): string[] {
    const { registry } = this.deps;
    if (!tasks) {
      const all = registry.defaultWorkerTasks();
      if (all.length === 0) throw new InvalidOptionError('tasks', 'no task is defined in this process; define tasks before starting a worker');
      return all;
    }
    return tasks.map((t) => {
      if (isTaskDefinition(t)) {
        registry.define(t);
        return t.name;
      }
      if (!registry.get(t)) throw new InvalidOptionError('tasks', `task "${t}" has no handler in this process; pass its definition`);
      return t;
    });
  }

  /** Jobs this worker holds now (running, or their outcome being written). */
  get busy(): number {
    return this.active.size;
  }

  protected async onStart(): Promise<void> {
    if (this.runForMs !== undefined) this.runTimer = this.deps.clock.setTimer(() => this.end('time'), this.runForMs);
    await this.registerFirst();
    await this.saveWorkerRecord();
    this.leases.start();
    await this.fetcher.start();
  }

  /**
   * Registers the tasks' settings. A backend that is unreachable for now (a server not up yet)
   * does not stop the worker: it registers before its first claim, retrying with backoff. A
   * refusal (a bad token, a store that cannot be written) fails the start.
   */
  private async registerFirst(): Promise<void> {
    try {
      await this.registerTasks();
    } catch (err) {
      if (!this.deps.backend.isTransient(err)) throw err;
      this.deps.logger.error(
        { err, worker: this.id, backend: this.deps.backend.description },
        'cannot reach the backend to register the tasks; retrying before the first claim',
      );
    }
  }

  private registered = false;

  private async registerTasks(): Promise<void> {
    if (this.registered) return;
    await this.deps.backend.registerTasks({ tasks: this.tasks.map((t) => this.deps.registry.get(t)!) });
    this.registered = true;
  }

  // ---- the phases, joined ----------------------------------------------------------------------

  private onClaimed(jobs: ClaimedJob[]): void {
    if (this.stopping) return void this.releaseClaimed(jobs);
    // Claims ask for no more than the budget leaves (freeSlots); should one bring more, they go straight back.
    const left = this.budgetLeft();
    if (jobs.length > left) {
      void this.releaseClaimed(jobs.slice(left));
      jobs = jobs.slice(0, left);
    }
    if (jobs.length === 0) return;
    const now = this.deps.clock.now();
    for (const row of jobs) {
      this.leases.keep({ id: row.id, token: row.leaseToken, task: row.task });
      if (this.handlersRunning < this.concurrency) this.startJob(row, now);
      else this.ahead.hold(row, now);
    }
    const due = this.ahead.dueAt;
    if (due !== undefined) this.aheadExpiry.at(due);
  }

  private startJob(row: ClaimedJob, now: number): void {
    this.handlersRunning++;
    this.startedJobs++;
    this.ahead.started(now);
    this.active.set(row.id, this.executor.run(row));
  }

  private onProgress(job: ActiveJob, progress: JobProgress): void {
    // The 'job:progress' event is emitted when the progress is written (coalesced, like the writes).
    this.leases.progress(job.row.id, progress);
  }

  /** The handler ended (or timed out): its slot is free now; its outcome is written, and the next claim rides with it. */
  private onOutcome(job: ActiveJob, outcome: Outcome): void {
    if (this.active.get(job.row.id) !== job) return;
    this.handlersRunning--;
    if (outcome.suspendUntil !== undefined) {
      // Suspend first, then release: released first, the job could be claimed again at once.
      void this.suspend(job.row.task, outcome.suspendUntil).then(() => this.record(job, outcome.transition));
    } else {
      this.record(job, outcome.transition);
    }
    this.startHeld();
    this.checkSpent();
    this.fetcher.now();
  }

  /** A slot freed: the oldest job held ahead takes it. */
  private startHeld(): void {
    const next = this.stopping ? undefined : this.ahead.take();
    if (next) this.startJob(next, this.deps.clock.now());
  }

  /** Jobs held ahead that no slot took in time: back to the queue for other workers. */
  private releaseStale(): void {
    const stale = this.ahead.takeStale(this.deps.clock.now());
    for (const j of stale) this.leases.release(j.id);
    void this.releaseClaimed(stale);
    const due = this.ahead.dueAt;
    if (due !== undefined) this.aheadExpiry.at(due);
  }

  /** Writes an outcome once the job's own progress is written (progress lands before the result). */
  private record(job: ActiveJob, transition: Transition): void {
    const write = () =>
      this.commit.finishThen(
        transition,
        { signal: this.writes.signal },
        (status) => this.letGo(job, status),
        (err: unknown) => this.giveUp(job, err),
      );
    if (this.leases.unsettled(job.row.id)) void this.leases.settle([job.row.id]).then(write);
    else write();
  }

  private async suspend(task: string, until: number): Promise<void> {
    try {
      await this.deps.backend.suspendTask({ task, until });
    } catch (err) {
      this.deps.logger.error({ err, task }, 'could not suspend the task');
    }
  }

  /** The backend recorded (or refused) the outcome: the job is let go of. */
  private letGo(job: ActiveJob, status: FinishStatus): void {
    if (status === 'lost' && !job.detached) {
      this.deps.logger.warn(
        { job: job.row.id, task: job.row.task, worker: this.id },
        'lease lost before the result was recorded: the job was cancelled or handed to another worker; this result is discarded',
      );
    }
    this.forget(job);
  }

  /** The outcome could not be written in time (at shutdown): the lease will expire and the job run again. */
  private giveUp(job: ActiveJob, err: unknown): void {
    this.deps.logger.warn({ err, job: job.row.id, worker: this.id }, 'could not record the outcome before stopping; the job runs again after its lease');
    this.forget(job);
  }

  private forget(job: ActiveJob): void {
    this.leases.release(job.row.id);
    if (this.active.get(job.row.id) === job) this.active.delete(job.row.id);
    job.release();
  }

  // ---- losing jobs -----------------------------------------------------------------------------

  private onCancelled(id: string): void {
    if (this.ahead.drop(id)) return this.leases.release(id);
    const job = this.active.get(id);
    if (!job || job.detached || job.settled) return;
    this.detach(job, new JobCancelledError(id, job.row.task));
  }

  /** Leases found lost: tell each handler why (cancelled, or taken over) and free the slot. */
  private onLost(lost: LostLease[]): void {
    for (const { id, cancelled } of lost) {
      if (this.ahead.drop(id)) continue; // the keeper no longer keeps it
      const job = this.active.get(id);
      if (!job || job.detached) continue;
      this.deps.logger.warn(
        { job: id, task: job.row.task, worker: this.id },
        cancelled ? 'job was cancelled; aborting its handler' : 'lease lost; aborting the handler',
      );
      this.detach(job, cancelled ? new JobCancelledError(id, job.row.task) : new LeaseLostError(id));
    }
  }

  /** Stops recording anything for `job` and frees its slot; its handler sees the abort reason. */
  private detach(job: ActiveJob, reason: unknown): void {
    job.abort(reason);
    job.detached = true;
    // Still running (not settled): its slot is freed here; a settled one's outcome is on its way.
    if (!job.settled) this.handlersRunning--;
    this.forget(job);
    this.startHeld();
    this.checkSpent();
    this.fetcher.soon();
  }

  /** Jobs claimed that will not run here (claimed while stopping, or held ahead) go straight back, without counting an attempt. */
  private releaseClaimed(jobs: ClaimedJob[]): Promise<unknown> {
    const now = this.deps.clock.now();
    return Promise.all(
      jobs.map((j) =>
        this.commit
          .finish({ to: 'queued', id: j.id, token: j.leaseToken, runAt: now, error: null, countAttempt: false }, { signal: this.writes.signal })
          .catch((err: unknown) => this.deps.logger.warn({ err, job: j.id }, 'could not release a job this worker will not run; its lease will expire')),
      ),
    );
  }

  private async saveWorkerRecord(): Promise<void> {
    const saved = await this.deps.backend.saveWorker({
      worker: {
        id: this.id,
        kind: this.kind,
        host: hostname(),
        pid: process.pid,
        tasks: [...this.tasks],
        concurrency: this.concurrency,
        startedAt: this.startedAt,
        lastSeenAt: this.deps.clock.now(),
      },
    });
    if (saved?.stopRequested) this.stopAsked();
  }

  /** An operator asked this worker to stop (POST /v1/workers/:id/stop): no claim from now on, its jobs finish. */
  private stopAsked(): void {
    if (this.stopping) return;
    this.deps.logger.info({ worker: this.id }, 'an operator asked this worker to stop; it finishes the jobs it holds and claims no more');
    this.end('stop-requested');
  }

  // ---- budgeted runs ---------------------------------------------------------------------------

  /** Jobs the worker may still take on: what maxJobs leaves after the jobs started and those held ahead. */
  private budgetLeft(): number {
    return this.maxJobs === undefined ? Number.POSITIVE_INFINITY : this.maxJobs - this.startedJobs - this.ahead.size;
  }

  /** maxJobs jobs have started and none of them still runs: the run is over. */
  private checkSpent(): void {
    if (this.maxJobs !== undefined && this.startedJobs >= this.maxJobs && this.handlersRunning === 0) this.end('max-jobs');
  }

  /** A claim found nothing runnable: with untilIdle and nothing running or held here, the run is over. */
  private checkIdle(): void {
    if (this.untilIdle && this.handlersRunning === 0 && this.ahead.size === 0) this.end('idle');
  }

  /** Ends a budgeted run: no claim from now on, then the stop path (handlers finish, held jobs go back, outcomes are written). */
  private end(reason: WorkerEnd['reason']): void {
    if (this.stopping) return;
    this.endReason = reason;
    this.stopping = true;
    this.stop().catch((err: unknown) => this.deps.logger.error({ err, worker: this.id }, 'the worker could not stop cleanly'));
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /**
   * Stops claiming, lets running jobs finish until the shutdown timeout, then aborts the rest
   * and releases them to the queue at once (no attempt counted), so no job waits for its lease.
   */
  protected async onStop(): Promise<void> {
    try {
      await this.shutDown();
    } finally {
      this.resolveFinished({ reason: this.endReason ?? 'stopped', started: this.startedJobs });
    }
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    this.runTimer?.cancel();
    this.fetcher.stop();
    this.aheadExpiry.cancel();
    const unstarted = this.ahead.takeAll();
    for (const j of unstarted) this.leases.release(j.id);
    const released = this.releaseClaimed(unstarted);
    const { clock, backend, logger } = this.deps;
    const deadline = new AbortController();
    const handlersDone = Promise.all([...this.active.values()].filter((j) => !j.settled).map((j) => j.done));
    await Promise.race([handlersDone, sleep(clock, this.shutdownTimeoutMs, deadline.signal).catch(() => undefined)]);
    deadline.abort();
    const left = [...this.active.values()].filter((j) => !j.detached && !j.settled);
    if (left.length) {
      const now = clock.now();
      for (const job of left) {
        job.abort(new OffloadError(SHUTDOWN_CODE, `worker ${this.id} is shutting down; the job was released for another worker`));
        job.detached = true;
        this.handlersRunning--;
        this.record(job, { to: 'queued', id: job.row.id, token: job.row.leaseToken, runAt: now, error: null, countAttempt: false });
      }
      logger.warn({ worker: this.id, released: left.map((j) => j.row.id) }, 'shutdown timeout reached; released running jobs to the queue');
    }
    await released;
    await this.drainWrites();
    await this.leases.stop();
    await backend.removeWorker({ id: this.id }).catch((err) => logger.warn({ err }, 'could not remove the worker record'));
  }

  /** Waits for the outcomes on their way; a backend that stays down gets a moment, then the leases are left to expire. */
  private async drainWrites(): Promise<void> {
    const written = Promise.all([...this.active.values()].map((j) => j.done));
    const timer = new AbortController();
    await Promise.race([written, sleep(this.deps.clock, SHUTDOWN_WRITE_MS, timer.signal).catch(() => undefined)]);
    timer.abort();
    this.writes.abort(new OffloadError(SHUTDOWN_CODE, `worker ${this.id} stopped before its outcomes could be written`));
    await written;
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidOptionError(name, 'must be an integer ≥ 1');
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidOptionError(name, 'must be an integer ≥ 0');
  return v;
}
