/**
 * The fetch phase of a worker: decides when to claim and claims as many jobs as there are free
 * slots. On the store in this process, claims go through the group commit, so a claim made as
 * outcomes are handed in rides in their transaction; wake-ups come from the runnability signal,
 * the next delayed job's run time and a slow backstop. On a server over HTTP (long-poll), one
 * claim is kept waiting on the server while slots are free, and a claim made while outcomes are
 * on their way travels with them in one request.
 */
import { Alarm, type Clock, type Timer } from '../core/clock.js';
import { isOffloadError, WorkerStoppingError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob, ClaimParams } from '../store/store.js';
import type { WorkerBackend } from './backend.js';

export interface FetcherDeps {
  backend: WorkerBackend;
  commit: GroupCommit;
  clock: Clock;
  logger: Logger;
  workerId: string;
  tasks: readonly string[];
  leaseMs: number;
  /** Backstop: look for work this often without a wake-up. */
  pollMs: number;
  /** Slots a claim may fill now. */
  freeSlots(): number;
  /**
   * On a long-poll backend, whether a claim waits on the server for work (false: it answers at
   * once, and an empty answer is reported, for a run that ends when it finds nothing to do).
   */
  claimsWait: boolean;
  /** Before the first claim (registers the tasks); retried with the claim when it fails. */
  beforeFirstClaim(): Promise<void>;
  /** Jobs claimed: start them. */
  onClaimed(jobs: ClaimedJob[]): void;
  /**
   * A claim found no job, and nothing asked for another claim while it ran (a wake-up, a slot
   * freed): no job of the tasks is runnable now. An empty answer to a claim overtaken by a
   * wake-up says nothing: the claim that follows it decides.
   */
  onNoneRunnable(): void;
  /** A job this worker may be running was cancelled. */
  onCancelled(id: string): void;
  /** A claim was refused because an operator asked this worker to stop (WORKER_STOPPING). */
  onStopRequested?(): void;
}

const MAX_RETRY_DELAY_MS = 5000;
/** A long-poll claim that answers empty sooner than this was not held: wait before asking again. */
const HELD_CLAIM_MS = 100;

export class Fetcher {
  private claiming = false;
  private again = false;
  private scheduled = false;
  private stopping = false;
  private ready = false;
  private failures = 0;
  private retryTimer: Timer | undefined;
  private pollTimer: Timer | undefined;
  private readonly wake: Alarm;
  private lastNextRunAtCheck = 0;
  /**
   * A timed wake-up (a delayed job's time, a rate limit's window) came: once its claims are done,
   * ask the store when the next one is, since the alarm holds only the earliest time it was given.
   */
  private lookAhead = false;
  /** Aborts the outstanding long-poll claim, at shutdown. */
  private held: AbortController | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: FetcherDeps) {
    this.wake = new Alarm(deps.clock, () => {
      this.lookAhead = true;
      this.soon();
    });
  }

  private get longPoll(): boolean {
    return this.deps.backend.wakeups === 'long-poll';
  }

  /** Whether a claim is kept waiting on the server while slots are free. */
  private get holdsClaims(): boolean {
    return this.longPoll && this.deps.claimsWait;
  }

  async start(): Promise<void> {
    if (!this.longPoll) {
      this.unsubscribe = this.deps.backend.subscribe([...this.deps.tasks], {
        runnableAt: (at) => this.wakeAt(at),
        cancelled: (id) => this.deps.onCancelled(id),
        outsideChange: () => this.onOutsideChange(),
      });
      this.armPoll();
      await this.refreshNextRunAt();
    }
    this.soon();
  }

  /** Stops claiming; a claim held by the server is cut short. */
  stop(): void {
    this.stopping = true;
    this.unsubscribe?.();
    this.pollTimer?.cancel();
    this.wake.cancel();
    this.retryTimer?.cancel();
    this.held?.abort();
  }

  /** Claims at once, in this turn: a slot just freed, and the claim should join the outcome that freed it. */
  now(): void {
    if (this.claiming) this.again = true;
    else void this.claim();
  }

  /** Claims in a moment (coalesced). */
  soon(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.claim();
    });
  }

  private async claim(): Promise<void> {
    const free = this.deps.freeSlots();
    if (free <= 0 || this.stopping || this.claiming) return;
    this.claiming = true;
    try {
      if (!this.ready) {
        await this.deps.beforeFirstClaim();
        this.ready = true;
      }
      const jobs = await this.fetch(free);
      if (jobs === undefined) return;
      this.failures = 0;
      this.deps.onClaimed(jobs);
      if (jobs.length === 0 && !this.again) this.deps.onNoneRunnable();
      // Slots still free after a claim that found jobs: more may be waiting. On a long-poll backend
      // a claim is kept outstanding while slots are free.
      if (this.deps.freeSlots() > 0 && (jobs.length > 0 || this.holdsClaims)) this.again = true;
    } catch (err) {
      // A claim aborted by the shutdown is no failure; one refused because the worker was asked to stop ends the claims.
      if (isOffloadError(err) && err.code === WorkerStoppingError.code && this.deps.onStopRequested) this.deps.onStopRequested();
      else if (!this.stopping) this.retryLater(err);
    } finally {
      this.claiming = false;
      if (this.again) {
        this.again = false;
        this.soon();
      } else if (this.lookAhead) {
        this.lookAhead = false;
        void this.refreshNextRunAt(true);
      }
    }
  }

  /** Undefined when a long-poll claim answered empty without being held (then it asks again later). */
  private async fetch(free: number): Promise<ClaimedJob[] | undefined> {
    const params = this.params(free);
    // With outcomes on their way, the claim joins them (one transaction, one request), for every
    // slot free when they are written; else on a long-poll backend it waits on the server for work
    // (unless claimsWait is off: then it answers at once, and an empty answer reaches the worker).
    if (!this.holdsClaims || this.deps.commit.pending > 0) return this.deps.commit.claim({ ...params, max: () => (this.stopping ? 0 : this.deps.freeSlots()) });
    this.held = new AbortController();
    const startedAt = performance.now();
    try {
      const jobs = await this.deps.backend.claim({ ...params, now: this.deps.clock.now(), wait: true, signal: this.held.signal });
      if (jobs.length > 0 || performance.now() - startedAt >= HELD_CLAIM_MS || this.stopping) return jobs;
    } finally {
      this.held = undefined;
    }
    // The server answered at once with nothing (it is stopping, or holds no claims): do not spin.
    this.retryTimer?.cancel();
    this.retryTimer = this.deps.clock.setTimer(() => this.soon(), Math.min(this.deps.pollMs, 1000));
    return undefined;
  }

  private params(max: number): Omit<ClaimParams, 'now'> {
    return { workerId: this.deps.workerId, tasks: [...this.deps.tasks], max, leaseMs: this.deps.leaseMs };
  }

  /** Store trouble (a busy file, a lost connection, a server away): log, back off, try again; never stop silently. */
  private retryLater(err: unknown): void {
    this.failures++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(this.failures, 10));
    this.deps.logger.error({ err, worker: this.deps.workerId, backend: this.deps.backend.description, retryInMs: delay }, 'worker could not claim; retrying');
    this.retryTimer?.cancel();
    this.retryTimer = this.deps.clock.setTimer(() => this.soon(), delay);
  }

  private wakeAt(runAt: number): void {
    this.wake.at(runAt);
  }

  /** Another process changed the store: maybe new work, maybe a delayed job we do not know of. */
  private onOutsideChange(): void {
    this.soon();
    if (this.deps.clock.now() - this.lastNextRunAtCheck >= 1000) void this.refreshNextRunAt();
  }

  /** `futureOnly`: a time already come is left alone (what is runnable now, slots full or a concurrency limit reached, waits for a slot). */
  private async refreshNextRunAt(futureOnly = false): Promise<void> {
    const now = this.deps.clock.now();
    this.lastNextRunAtCheck = now;
    try {
      const next = await this.deps.backend.nextRunAt({ tasks: [...this.deps.tasks] });
      if (next !== null && (!futureOnly || next > now)) this.wakeAt(next);
    } catch (err) {
      this.deps.logger.warn({ err, worker: this.deps.workerId }, 'could not read the next run time; relying on polling');
    }
  }

  private armPoll(): void {
    this.pollTimer = this.deps.clock.setTimer(() => {
      if (this.stopping) return;
      this.soon();
      void this.refreshNextRunAt();
      this.armPoll();
    }, this.deps.pollMs);
  }
}
