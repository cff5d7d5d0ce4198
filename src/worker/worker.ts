import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Clock, sleep, type Timer } from '../core/clock.js';
import { InvalidOptionError, JobCancelledError, JobTimeoutError, LeaseLostError, NO_HANDLER_CODE, OffloadError, SHUTDOWN_CODE } from '../core/errors.js';
import { decodePayload } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { TaskRegistry } from '../core/registry.js';
import { Service } from '../core/service.js';
import { isTaskDefinition, type TaskDefinition } from '../core/task.js';
import { decide, failFor, type HandlerResult } from '../core/transitions.js';
import type { ClaimedJob, ClaimParams, Transition } from '../store/store.js';
import { ActiveJob } from './active-job.js';
import type { LostLease, WorkerBackend } from './backend.js';

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
}

/** The task definitions a worker can run: the process's task registry, or a plain catalogue. */
export type TaskLookup = Pick<TaskRegistry, 'get' | 'localNames' | 'define'>;

export interface WorkerDeps {
  /** Where the jobs are: the store (`storeBackend`) or a server over HTTP (`src/remote`). */
  backend: WorkerBackend;
  clock: Clock;
  registry: TaskLookup;
  logger: Logger;
}

interface PendingFinish {
  job: ActiveJob;
  transition: Transition;
  /** Earlier deliveries that failed: their outcome is unknown, so a later "lost" may be our own write. */
  tries: number;
}

const MAX_RETRY_DELAY_MS = 5000;
/** A long-poll claim that answers empty sooner than this was not held: wait before asking again. */
const HELD_CLAIM_MS = 100;

/**
 * Claims jobs of its tasks from its backend (the store, or a server over HTTP) and runs their
 * handlers, up to `concurrency` at once. Claims fill every free slot in one call; results are
 * written in groups (one transaction for all the jobs that finished in one turn of the event
 * loop); leases are renewed on a timer of their own, so a busy handler never loses its lease.
 */
export class Worker extends Service {
  readonly id: string;
  readonly concurrency: number;
  readonly tasks: readonly string[];
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly active = new Map<string, ActiveJob>();
  private pending: PendingFinish[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private claimScheduled = false;
  private claiming = false;
  private claimAgain = false;
  private stopping = false;
  private stopped = false;
  private failures = 0;
  private heartbeatTimer: Timer | undefined;
  private pollTimer: Timer | undefined;
  /** One per kind of retry: a failed claim must not cancel the retry of unwritten results. */
  private readonly retryTimers = new Map<'claim' | 'write results', Timer>();
  private registered = false;
  /** Jobs whose results are being written now. */
  private delivering = 0;
  /** The progress or heartbeat write in flight: results wait for it, so progress lands before the result. */
  private touching: Promise<unknown> = Promise.resolve();
  /** Aborts the outstanding long-poll claim, at shutdown. */
  private claimAbort: AbortController | undefined;
  private wakeTimer: { at: number; timer: Timer } | undefined;
  private lastNextRunAtCheck = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly startedAt: number;

  constructor(
    private readonly deps: WorkerDeps,
    opts: WorkerOptions = {},
  ) {
    super();
    this.concurrency = positiveInt('concurrency', opts.concurrency ?? 10);
    this.leaseMs = positiveInt('leaseMs', opts.leaseMs ?? 30_000);
    this.heartbeatMs = positiveInt('heartbeatMs', opts.heartbeatMs ?? Math.max(1, Math.floor(this.leaseMs / 3)));
    this.pollMs = positiveInt('pollMs', opts.pollMs ?? 5000);
    this.shutdownTimeoutMs = nonNegativeInt('shutdownTimeoutMs', opts.shutdownTimeoutMs ?? 10_000);
    if (this.heartbeatMs >= this.leaseMs) throw new InvalidOptionError('heartbeatMs', 'must be shorter than leaseMs, or leases expire between heartbeats');
    this.id = opts.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.tasks = this.resolveTasks(opts.tasks);
    this.startedAt = deps.clock.now();
  }

  private resolveTasks(tasks: WorkerOptions['tasks']): string[] {
    const { registry } = this.deps;
    if (!tasks) {
      const all = registry.localNames();
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

  /** Jobs running now. */
  get busy(): number {
    return this.active.size;
  }

  private get longPoll(): boolean {
    return this.deps.backend.wakeups === 'long-poll';
  }

  protected async onStart(): Promise<void> {
    const { backend } = this.deps;
    await this.registerFirst();
    await this.saveWorkerRecord();
    if (!this.longPoll) {
      this.unsubscribe.push(
        backend.subscribe([...this.tasks], {
          runnableAt: (at) => this.wakeAt(at),
          cancelled: (id) => this.onCancelled(id),
          outsideChange: () => this.onOutsideChange(),
        }),
      );
      this.armPoll();
      await this.refreshNextRunAt();
    }
    this.armHeartbeat();
    this.scheduleClaim();
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

  private async registerTasks(): Promise<void> {
    await this.deps.backend.registerTasks({ tasks: this.tasks.map((t) => this.deps.registry.get(t)!) });
    this.registered = true;
  }

  // ---- claiming --------------------------------------------------------------------------------

  private scheduleClaim(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    if (this.claimScheduled) return;
    this.claimScheduled = true;
    setImmediate(() => {
      this.claimScheduled = false;
      void this.claim();
    });
  }

  /**
   * Slots a claim may fill. On a long-poll backend, jobs whose results are on their way count as
   * free: the next claim travels while the results do, instead of after them.
   */
  private freeSlots(): number {
    return this.concurrency - this.active.size + (this.longPoll ? this.delivering : 0);
  }

  private async claim(): Promise<void> {
    const free = this.freeSlots();
    if (free <= 0 || this.stopping || this.claiming) return;
    this.claiming = true;
    try {
      if (!this.registered) await this.registerTasks();
      const jobs = this.longPoll ? await this.claimHeld(free) : await this.deps.backend.claim(this.claimParams(free));
      if (jobs === undefined) return;
      this.failures = 0;
      this.afterClaim(jobs, free);
    } catch (err) {
      // A claim aborted by the shutdown is no failure.
      if (!this.stopping) this.retryLater('claim', err, () => this.scheduleClaim());
    } finally {
      this.endClaim();
    }
  }

  /** A long-poll claim; undefined when it answered empty without being held (then it asks again later). */
  private async claimHeld(free: number): Promise<ClaimedJob[] | undefined> {
    this.claimAbort = new AbortController();
    const startedAt = performance.now();
    try {
      const jobs = await this.deps.backend.claim({ ...this.claimParams(free), wait: true, signal: this.claimAbort.signal });
      if (jobs.length > 0 || performance.now() - startedAt >= HELD_CLAIM_MS || this.stopping) return jobs;
    } finally {
      this.claimAbort = undefined;
    }
    // The server answered at once with nothing (it is stopping, or holds no claims): do not spin.
    this.retryTimers.get('claim')?.cancel();
    this.retryTimers.set(
      'claim',
      this.deps.clock.setTimer(() => this.scheduleClaim(), Math.min(this.pollMs, 1000)),
    );
    return undefined;
  }

  private claimParams(max: number): ClaimParams {
    return { workerId: this.id, tasks: [...this.tasks], max, leaseMs: this.leaseMs, now: this.deps.clock.now() };
  }

  private afterClaim(jobs: ClaimedJob[], asked: number): void {
    if (this.stopping) return this.releaseClaimed(jobs);
    for (const row of jobs) this.startJob(row);
    // A full claim suggests more jobs are waiting: look again when slots free up. On a long-poll
    // backend a claim is kept outstanding while slots are free: that is how work wakes us up.
    if (jobs.length === asked || (this.longPoll && this.freeSlots() > 0)) this.claimAgain = true;
  }

  private endClaim(): void {
    this.claiming = false;
    if (this.claimAgain) {
      this.claimAgain = false;
      this.scheduleClaim();
    }
  }

  /** Jobs claimed while stopping go straight back, without counting an attempt. */
  private releaseClaimed(jobs: ClaimedJob[]): void {
    if (jobs.length === 0) return;
    const now = this.deps.clock.now();
    const transitions: Transition[] = jobs.map((j) => ({ to: 'queued', id: j.id, token: j.leaseToken, runAt: now, error: null, countAttempt: false }));
    void this.deps.backend
      .finish({ transitions, now })
      .then((r) => {
        if (r.error) throw r.error;
      })
      .catch((err) => this.deps.logger.warn({ err }, 'could not release jobs claimed during shutdown; their leases will expire'));
  }

  private wakeAt(runAt: number): void {
    const now = this.deps.clock.now();
    if (runAt <= now) return this.scheduleClaim();
    if (this.wakeTimer && this.wakeTimer.at <= runAt) return;
    this.wakeTimer?.timer.cancel();
    this.wakeTimer = {
      at: runAt,
      timer: this.deps.clock.setTimer(() => {
        this.wakeTimer = undefined;
        this.scheduleClaim();
      }, runAt - now),
    };
  }

  /** Another process changed the store: maybe new work, maybe a delayed job we do not know of. */
  private onOutsideChange(): void {
    this.scheduleClaim();
    if (this.deps.clock.now() - this.lastNextRunAtCheck >= 1000) void this.refreshNextRunAt();
  }

  private async refreshNextRunAt(): Promise<void> {
    this.lastNextRunAtCheck = this.deps.clock.now();
    try {
      const next = await this.deps.backend.nextRunAt({ tasks: [...this.tasks] });
      if (next !== null) this.wakeAt(next);
    } catch (err) {
      this.deps.logger.warn({ err, worker: this.id }, 'could not read the next run time; relying on polling');
    }
  }

  // ---- running ---------------------------------------------------------------------------------

  private startJob(row: ClaimedJob): void {
    const definition = this.deps.registry.get(row.task);
    const job = new ActiveJob(row, definition!, this.id, (j) => this.onProgress(j));
    this.active.set(row.id, job);
    if (!definition) {
      return this.settle(job, { error: new OffloadError(NO_HANDLER_CODE, `worker ${this.id} has no handler for task "${row.task}"`) });
    }
    if (row.timeoutMs !== null) job.timeoutTimer = this.deps.clock.setTimer(() => this.onTimeout(job), row.timeoutMs);
    let result: unknown;
    try {
      result = definition.handler(decodePayload(row.input), job);
    } catch (error) {
      return this.settle(job, { error });
    }
    if (result instanceof Promise)
      result.then(
        (value) => this.settle(job, { value }),
        (error) => this.settle(job, { error }),
      );
    else this.settle(job, { value: result });
  }

  private settle(job: ActiveJob, outcome: HandlerResult): void {
    if (job.settled) return;
    job.settled = true;
    job.timeoutTimer?.cancel();
    if (job.detached) return;
    const attempt = { id: job.row.id, token: job.row.leaseToken, attempt: job.row.attempt, maxAttempts: job.row.maxAttempts };
    const settings = job.definition?.settings ?? ({ maxAttempts: job.row.maxAttempts, backoff: { type: 'fixed', delayMs: 0 } } as never);
    const decision = decide(attempt, settings, outcome, this.deps.clock.now());
    if (decision.suspendUntil === undefined) return this.enqueueFinish(job, decision.transition);
    // Suspend first, then release: released first, the job could be claimed again at once.
    void this.suspend(job.row.task, decision.suspendUntil).then(() => this.enqueueFinish(job, decision.transition));
  }

  private async suspend(task: string, until: number): Promise<void> {
    try {
      await this.deps.backend.suspendTask({ task, until });
    } catch (err) {
      this.deps.logger.error({ err, task }, 'could not suspend the task');
    }
  }

  private onTimeout(job: ActiveJob): void {
    if (job.settled || job.detached) return;
    const error = new JobTimeoutError(job.row.id, job.row.timeoutMs!);
    job.abort(error);
    const attempt = { id: job.row.id, token: job.row.leaseToken, attempt: job.row.attempt, maxAttempts: job.row.maxAttempts };
    const transition = failFor(attempt, job.definition.settings, error, this.deps.clock.now(), false).transition;
    // The failure is recorded now and the slot freed; a handler that ignores its signal runs on, unrecorded.
    job.detached = true;
    this.enqueueFinish(job, transition);
  }

  private onCancelled(id: string): void {
    const job = this.active.get(id);
    if (!job || job.detached) return;
    this.detach(job, new JobCancelledError(id, job.row.task));
  }

  /** Stops recording anything for `job` and frees its slot; its handler sees the abort reason. */
  private detach(job: ActiveJob, reason: unknown): void {
    job.abort(reason);
    job.detached = true;
    this.active.delete(job.row.id);
    job.release();
    this.scheduleClaim();
  }

  // ---- writing results -------------------------------------------------------------------------

  private enqueueFinish(job: ActiveJob, transition: Transition): void {
    this.pending.push({ job, transition, tries: 0 });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Writes every pending result in one backend call; what could not be delivered is tried again. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = this.writePending().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const { backend, clock } = this.deps;
    // Claim the next jobs in the same transaction as the results: one commit per turn, not two.
    const finishing = batch.filter((p) => this.active.get(p.job.row.id) === p.job).length;
    const free = this.concurrency - this.active.size + finishing;
    // A backend that cannot claim in the same round trip gets a claim of its own, sent alongside.
    const claim = !this.longPoll && !this.stopping && !this.claiming && free > 0 ? this.claimParams(free) : undefined;
    if (claim) this.claiming = true;
    this.delivering += finishing;
    if (this.longPoll) this.scheduleClaim();
    try {
      await this.touching;
      const now = clock.now();
      const touches = batch
        .filter((p) => p.job.pendingProgress)
        .map((p) => ({ id: p.job.row.id, token: p.job.row.leaseToken, task: p.job.row.task, progress: p.job.takeProgress()! }));
      if (touches.length) await backend.touch({ touches, leaseMs: null, now });
      const { statuses, claimed, error } = await backend.finish({ transitions: batch.map((p) => p.transition), now, claim });
      const unsent = batch.filter((p, i) => {
        if (statuses[i] === 'unsent') return true;
        this.letGo(p, statuses[i] === 'lost');
        return false;
      });
      if (claim) this.afterClaim(claimed, claim.max);
      else this.scheduleClaim();
      if (unsent.length === 0) this.failures = 0;
      else this.retryWrites(unsent, error);
    } catch (err) {
      this.retryWrites(batch, err);
    } finally {
      this.delivering -= finishing;
      if (claim) this.endClaim();
    }
  }

  /** The backend recorded (or refused) a result: the slot is free. */
  private letGo({ job, tries }: PendingFinish, lost: boolean): void {
    const where = { job: job.row.id, task: job.row.task, worker: this.id };
    if (lost && tries > 0)
      this.deps.logger.info(where, 'result refused after an earlier delivery failed: that delivery may have recorded it, or the lease was lost meanwhile');
    else if (lost)
      this.deps.logger.warn(where, 'lease lost before the result was recorded: the job was cancelled or handed to another worker; this result is discarded');
    if (this.active.get(job.row.id) === job) this.active.delete(job.row.id);
    job.release();
  }

  private retryWrites(unsent: PendingFinish[], err: unknown): void {
    for (const p of unsent) p.tries++;
    this.pending = unsent.concat(this.pending);
    this.retryLater('write results', err, () => this.scheduleFlush());
  }

  /** Store trouble (busy file, lost connection): log, back off, try again; never stop silently. */
  private retryLater(what: 'claim' | 'write results', err: unknown, again: () => void): void {
    this.failures++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(this.failures, 10));
    this.deps.logger.error({ err, worker: this.id, backend: this.deps.backend.description, retryInMs: delay }, `worker could not ${what}; retrying`);
    if (this.stopping && what === 'claim') return;
    this.retryTimers.get(what)?.cancel();
    this.retryTimers.set(
      what,
      this.deps.clock.setTimer(() => {
        this.retryTimers.delete(what);
        again();
      }, delay),
    );
  }

  // ---- progress and heartbeats -----------------------------------------------------------------

  private progressTimer: Timer | undefined;
  private lastProgressWrite = -Infinity;

  private onProgress(_job: ActiveJob): void {
    // The 'job:progress' event is emitted when the progress is written (coalesced, like the writes).
    if (this.progressTimer) return;
    // At most one progress write per 100 ms for the whole worker, however chatty the handlers.
    const wait = Math.max(0, this.lastProgressWrite + 100 - this.deps.clock.now());
    this.progressTimer = this.deps.clock.setTimer(() => {
      this.progressTimer = undefined;
      void this.writeProgress();
    }, wait);
  }

  private async writeProgress(): Promise<void> {
    const { backend, clock, logger } = this.deps;
    this.lastProgressWrite = clock.now();
    const touches = [...this.active.values()]
      .filter((j) => j.pendingProgress && !j.detached)
      .map((j) => ({ id: j.row.id, token: j.row.leaseToken, task: j.row.task, progress: j.takeProgress()! }));
    if (touches.length === 0) return;
    try {
      const { lost } = await this.touch(backend.touch({ touches, leaseMs: null, now: clock.now() }));
      this.onLost(lost);
    } catch (err) {
      logger.warn({ err, worker: this.id }, 'could not record progress');
    }
  }

  private armHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.deps.clock.setTimer(() => {
      void this.heartbeat().finally(() => {
        if (this.running || this.active.size) this.armHeartbeat();
      });
    }, this.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    const { backend, clock, logger } = this.deps;
    const now = clock.now();
    const touches = [...this.active.values()].map((j) => ({ id: j.row.id, token: j.row.leaseToken, task: j.row.task, progress: j.takeProgress() }));
    try {
      if (touches.length) {
        const { lost } = await this.touch(backend.touch({ touches, leaseMs: this.leaseMs, now }));
        this.onLost(lost);
      }
      if (!this.stopping) await this.saveWorkerRecord();
    } catch (err) {
      logger.error({ err, worker: this.id, backend: backend.description }, 'heartbeat failed; leases may expire if the backend stays unreachable');
    }
  }

  private touch<T>(write: Promise<T>): Promise<T> {
    this.touching = write.catch(() => undefined);
    return write;
  }

  /** Leases found lost: tell each handler why (cancelled, or taken over) and free the slot. */
  private onLost(lost: LostLease[]): void {
    for (const { id, cancelled } of lost) {
      const job = this.active.get(id);
      if (!job || job.detached) continue;
      this.deps.logger.warn(
        { job: id, task: job.row.task, worker: this.id },
        cancelled ? 'job was cancelled; aborting its handler' : 'lease lost; aborting the handler',
      );
      this.detach(job, cancelled ? new JobCancelledError(id, job.row.task) : new LeaseLostError(id));
    }
  }

  private armPoll(): void {
    this.pollTimer = this.deps.clock.setTimer(() => {
      if (this.stopping) return;
      this.scheduleClaim();
      void this.refreshNextRunAt();
      this.armPoll();
    }, this.pollMs);
  }

  private saveWorkerRecord(): Promise<void> {
    return this.deps.backend.saveWorker({
      worker: {
        id: this.id,
        kind: 'node',
        host: hostname(),
        pid: process.pid,
        tasks: [...this.tasks],
        concurrency: this.concurrency,
        startedAt: this.startedAt,
        lastSeenAt: this.deps.clock.now(),
      },
    });
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /**
   * Stops claiming, lets running jobs finish until the shutdown timeout, then aborts the rest
   * and releases them to the queue at once (no attempt counted), so no job waits for its lease.
   */
  protected async onStop(): Promise<void> {
    this.stopping = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.pollTimer?.cancel();
    this.wakeTimer?.timer.cancel();
    // A claim held by the server would keep us waiting for work we no longer want.
    this.claimAbort?.abort();
    const { clock, backend, logger } = this.deps;
    const deadline = new AbortController();
    const allDone = Promise.all([...this.active.values()].map((j) => j.done));
    await Promise.race([allDone, sleep(clock, this.shutdownTimeoutMs, deadline.signal).catch(() => undefined)]);
    deadline.abort();
    const left = [...this.active.values()].filter((j) => !j.detached && !j.settled);
    if (left.length) {
      const now = clock.now();
      for (const job of left) {
        job.abort(new OffloadError(SHUTDOWN_CODE, `worker ${this.id} is shutting down; the job was released for another worker`));
        job.detached = true;
        this.enqueueFinish(job, { to: 'queued', id: job.row.id, token: job.row.leaseToken, runAt: now, error: null, countAttempt: false });
      }
      logger.warn({ worker: this.id, released: left.map((j) => j.row.id) }, 'shutdown timeout reached; released running jobs to the queue');
    }
    await this.drainWrites();
    this.stopped = true;
    for (const t of this.retryTimers.values()) t.cancel();
    this.heartbeatTimer?.cancel();
    this.progressTimer?.cancel();
    await backend.removeWorker({ id: this.id }).catch((err) => logger.warn({ err }, 'could not remove the worker record'));
  }

  /** Writes what is pending; a backend that stays down gets a few tries, then the leases expire. */
  private async drainWrites(): Promise<void> {
    for (let i = 0; i < 5 && (this.pending.length || this.flushing); i++) {
      await this.flush();
      if (this.pending.length) await sleep(this.deps.clock, 100 * (i + 1));
    }
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
