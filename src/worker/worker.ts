import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Clock, sleep, type Timer } from '../core/clock.js';
import { InvalidOptionError, JobCancelledError, JobTimeoutError, LeaseLostError, NO_HANDLER_CODE, SHUTDOWN_CODE, OffloadError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { decodePayload } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { TaskRegistry } from '../core/registry.js';
import { Service } from '../core/service.js';
import { isTaskDefinition, type TaskDefinition } from '../core/task.js';
import type { ClaimedJob, ClaimParams, Store, Transition } from '../store/store.js';
import { ActiveJob } from './active-job.js';
import { decide, failFor, type HandlerResult } from './transition.js';

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

export interface WorkerDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  registry: TaskRegistry;
  logger: Logger;
}

interface PendingFinish {
  job: ActiveJob;
  transition: Transition;
}

const MAX_RETRY_DELAY_MS = 5000;

/**
 * Claims jobs of its tasks from the store and runs their handlers, up to `concurrency` at once.
 * Claims fill every free slot in one call; results are written in groups (one transaction for
 * all the jobs that finished in one turn of the event loop); leases are renewed on a timer of
 * their own, so a busy handler never loses its lease.
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
  /** One retry timer per operation: a failed claim must never cancel the retry of a failed write. */
  private readonly retryTimers = new Map<string, Timer>();
  private wakeTimer: { at: number; timer: Timer } | undefined;
  private lastNextRunAtCheck = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly startedAt: number;

  constructor(private readonly deps: WorkerDeps, opts: WorkerOptions = {}) {
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

  protected async onStart(): Promise<void> {
    const { bus, store, registry } = this.deps;
    await registry.ensureRegistered([...this.tasks]);
    await this.saveWorkerRecord();
    const mine = new Set(this.tasks);
    const wake = (e: { task: string; runAt: number }) => { if (mine.has(e.task)) this.wakeAt(e.runAt); };
    this.unsubscribe.push(
      bus.on('job:enqueued', wake),
      bus.on('job:retrying', wake),
      bus.on('job:released', wake),
      bus.on('task:suspended', (e) => { if (mine.has(e.task)) this.wakeAt(e.until); }),
      bus.on('job:cancelled', (e) => this.onCancelled(e.id)),
      store.watch((change) => {
        if (change.tasks === null || change.tasks.some((t) => mine.has(t))) this.onOutsideChange();
      }),
    );
    this.armHeartbeat();
    this.armPoll();
    await this.refreshNextRunAt();
    this.scheduleClaim();
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

  private async claim(): Promise<void> {
    const free = this.concurrency - this.active.size;
    if (free <= 0 || this.stopping || this.claiming) return;
    this.claiming = true;
    try {
      this.afterClaim(await this.deps.store.claimJobs(this.claimParams(free)), free);
    } catch (err) {
      this.retryLater('claim', err, () => this.scheduleClaim());
    } finally {
      this.endClaim();
    }
  }

  private claimParams(max: number): ClaimParams {
    return { workerId: this.id, tasks: [...this.tasks], max, leaseMs: this.leaseMs, now: this.deps.clock.now() };
  }

  private afterClaim(jobs: ClaimedJob[], asked: number): void {
    this.failures = 0;
    if (this.stopping) return this.releaseClaimed(jobs);
    for (const row of jobs) this.startJob(row);
    // A full claim suggests more jobs are waiting: look again when slots free up.
    if (jobs.length === asked) this.claimAgain = true;
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
    void this.deps.store.finishJobs({ transitions, now }).catch((err) => this.deps.logger.warn({ err }, 'could not release jobs claimed during shutdown; their leases will expire'));
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
      const next = await this.deps.store.nextRunAt({ tasks: [...this.tasks] });
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
    if (result instanceof Promise) result.then((value) => this.settle(job, { value }), (error) => this.settle(job, { error }));
    else this.settle(job, { value: result });
  }

  private settle(job: ActiveJob, outcome: HandlerResult): void {
    if (job.settled) return;
    job.settled = true;
    job.timeoutTimer?.cancel();
    if (job.detached) return;
    const attempt = { id: job.row.id, token: job.row.leaseToken, attempt: job.row.attempt, maxAttempts: job.row.maxAttempts };
    const settings = job.definition?.settings ?? { maxAttempts: job.row.maxAttempts, backoff: { type: 'fixed', delayMs: 0 } } as never;
    const decision = decide(attempt, settings, outcome, this.deps.clock.now());
    if (decision.suspendUntil !== undefined) void this.suspend(job.row.task, decision.suspendUntil);
    this.enqueueFinish(job, decision.transition);
  }

  private async suspend(task: string, until: number): Promise<void> {
    try {
      await this.deps.store.pauseTask({ task, until });
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
    this.pending.push({ job, transition });
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

  /** Writes every pending result in one store call; on failure keeps them and tries again. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = this.writePending().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const { store, clock, logger } = this.deps;
    // Claim the next jobs in the same transaction as the results: one commit per turn, not two.
    const finishing = batch.filter((p) => this.active.get(p.job.row.id) === p.job).length;
    const free = this.concurrency - this.active.size + finishing;
    const claim = !this.stopping && !this.claiming && free > 0 ? this.claimParams(free) : undefined;
    if (claim) this.claiming = true;
    try {
      const now = clock.now();
      const touches = batch.filter((p) => p.job.pendingProgress).map((p) => ({ id: p.job.row.id, token: p.job.row.leaseToken, task: p.job.row.task, progress: p.job.takeProgress()! }));
      if (touches.length) await store.touchJobs({ touches, leaseExpiresAt: null, now });
      const { results, claimed } = await store.finishJobs({ transitions: batch.map((p) => p.transition), now, claim });
      this.failures = 0;
      results.forEach((r, i) => {
        const { job } = batch[i];
        if (!r.ok) logger.warn({ job: job.row.id, task: job.row.task, worker: this.id }, 'lease lost before the result was recorded: the job was cancelled or handed to another worker; this result is discarded');
        if (this.active.get(job.row.id) === job) this.active.delete(job.row.id);
        job.release();
      });
      if (claim) this.afterClaim(claimed, claim.max);
      else this.scheduleClaim();
    } catch (err) {
      this.pending = batch.concat(this.pending);
      this.retryLater('write results', err, () => this.scheduleFlush());
    } finally {
      if (claim) this.endClaim();
    }
  }

  /** Store trouble (busy file, lost connection): log, back off, try again; never stop silently. */
  private retryLater(what: string, err: unknown, again: () => void): void {
    this.failures++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(this.failures, 10));
    this.deps.logger.error({ err, worker: this.id, retryInMs: delay }, `worker could not ${what}; retrying`);
    if (this.stopping && what === 'claim') return;
    this.retryTimers.get(what)?.cancel();
    this.retryTimers.set(what, this.deps.clock.setTimer(() => {
      this.retryTimers.delete(what);
      again();
    }, delay));
  }

  // ---- progress and heartbeats -----------------------------------------------------------------

  private progressTimer: Timer | undefined;
  private lastProgressWrite = -Infinity;

  private onProgress(job: ActiveJob): void {
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
    const { store, clock, logger } = this.deps;
    this.lastProgressWrite = clock.now();
    const touches = [...this.active.values()].filter((j) => j.pendingProgress && !j.detached)
      .map((j) => ({ id: j.row.id, token: j.row.leaseToken, task: j.row.task, progress: j.takeProgress()! }));
    if (touches.length === 0) return;
    try {
      const { lost } = await store.touchJobs({ touches, leaseExpiresAt: null, now: clock.now() });
      if (lost.length) await this.onLost(lost);
    } catch (err) {
      logger.warn({ err, worker: this.id }, 'could not record progress');
    }
  }

  private armHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.deps.clock.setTimer(() => {
      void this.heartbeat().finally(() => { if (this.running || this.active.size) this.armHeartbeat(); });
    }, this.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    const { store, clock, logger } = this.deps;
    const now = clock.now();
    const touches = [...this.active.values()].map((j) => ({ id: j.row.id, token: j.row.leaseToken, task: j.row.task, progress: j.takeProgress() }));
    try {
      if (touches.length) {
        const { lost } = await store.touchJobs({ touches, leaseExpiresAt: now + this.leaseMs, now });
        if (lost.length) await this.onLost(lost);
      }
      if (!this.stopping) await this.saveWorkerRecord();
    } catch (err) {
      logger.error({ err, worker: this.id }, 'heartbeat failed; leases may expire if the store stays unreachable');
    }
  }

  /** Leases found lost: tell each handler why (cancelled, or taken over) and free the slot. */
  private async onLost(ids: string[]): Promise<void> {
    const rows = await this.deps.store.getJobs({ ids }).catch(() => []);
    const cancelled = new Set(rows.filter((r) => r.state === 'cancelled').map((r) => r.id));
    for (const id of ids) {
      const job = this.active.get(id);
      if (!job || job.detached) continue;
      this.deps.logger.warn({ job: id, task: job.row.task, worker: this.id }, cancelled.has(id) ? 'job was cancelled; aborting its handler' : 'lease lost; aborting the handler');
      this.detach(job, cancelled.has(id) ? new JobCancelledError(id, job.row.task) : new LeaseLostError(id));
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
    return this.deps.store.upsertWorker({
      worker: { id: this.id, kind: 'node', host: hostname(), pid: process.pid, tasks: [...this.tasks], concurrency: this.concurrency, startedAt: this.startedAt, lastSeenAt: this.deps.clock.now() },
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
    const { clock, store, logger } = this.deps;
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
    await store.removeWorker({ id: this.id }).catch((err) => logger.warn({ err }, 'could not remove the worker record'));
  }

  /** Writes what is pending; a store that stays down gets a few tries, then the leases expire. */
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
