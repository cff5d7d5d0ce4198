/**
 * Sleeping Gearman workers and their NOOPs. gearmand wakes every sleeping worker of a function
 * for each new job, and all but one of them find nothing (NOOP storms, gearmand issue #232).
 * Here a runnable job wakes one sleeping worker; a worker that takes a job passes the wake-up on
 * when more work waits; a NOOP is sent at most once per sleep; and a worker whose last GRAB found
 * nothing is not woken by PRE_SLEEP until something has changed since. A new job can skip the
 * queue altogether and go to a waiting worker (`takeWaitingWorker`).
 *
 * A worker just answered NO_JOB is about to send PRE_SLEEP (libgearman does at once): until then
 * it counts as idle, and a wake-up or a new job meant for it is given at its PRE_SLEEP, with no
 * query. Under load that is where most workers are when work arrives.
 */
import type { Timer } from '../core/clock.js';
import { onJobRunnable } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import { type GearmanConnection, response } from './connection.js';
import { ConnectionsByFunction } from './connections-by-function.js';
import { PacketType } from './protocol.js';
import { QueueKnowledge } from './queue-knowledge.js';

const NOOP = response(PacketType.NOOP);
/** A worker answered NO_JOB this long ago and not heard from since is no longer counted on to PRE_SLEEP. */
const IDLE_MS = 100;

export class Wakeups {
  /** Bumped by every event that may make a job runnable; see `preSleep`. */
  seq = 0;
  /** What is known of the functions' queues without a query; see QueueKnowledge. */
  readonly queues: QueueKnowledge;
  private readonly sleepers = new ConnectionsByFunction();
  private readonly idlers = new ConnectionsByFunction();
  private readonly lingerers = new ConnectionsByFunction();
  /** Answers a lingering GRAB by claiming (set by Assignments, which owns GRABs). */
  onLingerWake: (conn: GearmanConnection) => void = () => {};
  /** Suspensions made in this process: a job of a suspended task wakes nobody before its end. */
  private readonly suspendedUntil = new Map<string, number>();
  private readonly unsubscribe: (() => void)[] = [];
  private wakeTimer: { at: number; timer: Timer } | undefined;
  private pollTimer: Timer | undefined;
  private readonly toCheck = new Set<string>();
  private checking = false;
  private stopped = false;

  constructor(
    private readonly offload: Offload,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {
    this.queues = new QueueKnowledge(offload.store, () => offload.clock.now());
  }

  start(): void {
    const { bus, store } = this.offload;
    const runnable = (e: { task: string; runAt: number }) => this.onRunnable(e.task, e.runAt);
    const slotFreed = (e: { task: string }) => this.slotFreed(e.task);
    // A job retried or released for now takes its own slot back (onJobRunnable wakes a worker for it).
    const slotFreedFor = (e: { task: string; runAt: number }) => {
      if (e.runAt > this.offload.clock.now()) this.slotFreed(e.task);
    };
    this.unsubscribe.push(
      onJobRunnable(bus, runnable),
      bus.on('job:succeeded', slotFreed),
      bus.on('job:failed', slotFreed),
      bus.on('job:cancelled', slotFreed),
      bus.on('job:retrying', slotFreedFor),
      bus.on('job:released', slotFreedFor),
      bus.on('task:suspended', (e) => {
        this.queues.suspended(e.task);
        this.suspendedUntil.set(e.task, Math.max(e.until, this.suspendedUntil.get(e.task) ?? 0));
        this.wakeAt(e.until);
      }),
      // Another process changed the store (it cannot say which tasks, on SQLite): look.
      store.watch(() => {
        this.seq++;
        this.queues.forgetAll();
        this.checkSleepingTasks();
      }),
    );
    this.armPoll();
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.pollTimer?.cancel();
    this.wakeTimer?.timer.cancel();
  }

  // ---- a worker's cycle ------------------------------------------------------------------------

  /** A GRAB found nothing and waits a moment for a job (see Assignments.linger). */
  linger(conn: GearmanConnection): void {
    this.lingerers.add(conn);
  }

  stopLingering(conn: GearmanConnection, tasks?: Iterable<string>): void {
    this.lingerers.delete(conn, tasks);
  }

  /** A GRAB was answered NO_JOB: the worker is idle until its PRE_SLEEP. */
  idle(conn: GearmanConnection): void {
    if (conn.closed || conn.abilities.size === 0) return;
    conn.idleAt = this.offload.clock.now();
    this.idlers.add(conn);
  }

  /** PRE_SLEEP: NOOP at once if work may be waiting, else sleep until a wake-up. */
  preSleep(conn: GearmanConnection): void {
    this.leaveIdle(conn);
    conn.sleeping = true;
    conn.noopSent = false;
    // Work was meant for it while it was idle.
    if (conn.wakeOwed || conn.reserved) return this.noop(conn);
    this.sleepers.add(conn);
    // Its last GRAB found nothing and nothing happened since, or there is nothing to find: checking
    // again would only make a storm.
    if (conn.emptyGrabSeq === this.seq || conn.abilities.size === 0 || this.queues.allEmpty(conn.abilities.keys())) return;
    void this.offload.store.nextRunAt({ tasks: [...conn.abilities.keys()] }).then(
      (next) => {
        if (next === null || !conn.sleeping || conn.noopSent) return;
        if (next <= this.offload.clock.now()) this.noop(conn);
        else this.wakeAt(next);
      },
      (err: unknown) => this.logger.warn({ err }, 'gearman: could not look for runnable jobs; the worker sleeps until the next wake-up'),
    );
  }

  /** Any GRAB: the worker is awake. */
  awake(conn: GearmanConnection): void {
    if (conn.sleeping) this.sleepers.delete(conn);
    this.leaveIdle(conn);
    conn.sleeping = false;
    conn.noopSent = false;
    conn.wakeOwed = false;
  }

  /** The connection closed or dropped abilities: if it was woken and never came to take the job, wake another. */
  forget(conn: GearmanConnection, tasks: Iterable<string> = conn.abilities.keys()): void {
    const woken = conn.noopSent || conn.wakeOwed;
    const list = [...tasks];
    this.sleepers.delete(conn, list);
    this.leaveIdle(conn, list);
    this.lingerers.delete(conn, list);
    if (woken) this.check(list);
  }

  /** A worker took a job of `task`: if others sleep on it and more may wait, one of them looks. */
  assigned(task: string): void {
    if (this.sleepers.has(task) && !this.queues.isEmpty(task)) this.check([task]);
  }

  /**
   * A waiting worker (its GRAB lingering, asleep, or just told NO_JOB) that can take a new job of
   * `task` at once, or none. A worker that
   * waits unwoken means no runnable job of the task waits (each one announced wakes one), so the
   * new job overtakes none; and only for tasks without a concurrency limit or pause. The worker
   * is spoken for; `giveBack` returns it if the job does not come.
   */
  takeWaitingWorker(task: string): GearmanConnection | undefined {
    if (!this.lingerers.has(task) && !this.sleepers.has(task) && !this.idlers.has(task)) return undefined;
    if (!this.queues.unlimitedNow(task)) return undefined;
    const conn = this.waitingWorker(task);
    if (conn) conn.wakeOwed = true;
    return conn;
  }

  /** A job is meant for a worker from `takeWaitingWorker`: wake it if it sleeps (an idle one is told at its PRE_SLEEP, a lingering GRAB answered). */
  handOver(conn: GearmanConnection): void {
    if (conn.sleeping && !conn.noopSent) this.noop(conn);
  }

  /** The job meant for a worker from `takeWaitingWorker` did not come (coalesced, or refused): it waits on. */
  giveBack(conn: GearmanConnection): void {
    if (!conn.wakeOwed) return;
    conn.wakeOwed = false;
    if (conn.closed) return;
    if (conn.lingering) this.linger(conn);
    else if (conn.sleeping && !conn.noopSent) this.sleepers.add(conn);
  }

  // ---- waking ----------------------------------------------------------------------------------

  private onRunnable(task: string, runAt: number): void {
    this.seq++;
    const now = this.offload.clock.now();
    const suspended = this.suspendedUntil.get(task);
    if (suspended !== undefined && suspended <= now) this.suspendedUntil.delete(task);
    else if (suspended !== undefined) runAt = Math.max(runAt, suspended);
    if (runAt <= now) {
      this.queues.forget(task);
      this.wakeOne(task);
    } else {
      this.wakeAt(runAt);
    }
  }

  /**
   * A job of `task` stopped running in this process. Under a concurrency limit that frees a slot
   * a queued job may have waited for, so a sleeper looks (one query, only while some sleep on a
   * limited function; unlimited functions, the hot path, are left alone).
   */
  private slotFreed(task: string): void {
    this.seq++;
    if (this.sleepers.has(task) && !this.queues.unlimitedNow(task)) this.check([task]);
  }

  /** Answers a lingering GRAB of `task`, or wakes a sleeping worker, or tells an idle one to look at its PRE_SLEEP. */
  private wakeOne(task: string): void {
    const conn = this.waitingWorker(task);
    if (!conn) return;
    if (conn.lingering) this.onLingerWake(conn);
    else if (conn.sleeping) this.noop(conn);
    else conn.wakeOwed = true;
  }

  /** A lingering GRAB of `task`, else a sleeping worker not yet woken, else a recently idle one; taken off its list. */
  private waitingWorker(task: string): GearmanConnection | undefined {
    for (const conn of this.lingerers.of(task)) {
      if (conn.closed || !conn.lingering || conn.wakeOwed) continue;
      this.lingerers.delete(conn);
      return conn;
    }
    for (const conn of this.sleepers.of(task)) {
      if (conn.closed || conn.noopSent || conn.wakeOwed) continue;
      this.sleepers.delete(conn);
      return conn;
    }
    const freshSince = this.offload.clock.now() - IDLE_MS;
    for (const conn of this.idlers.of(task)) {
      const fresh = !conn.closed && !conn.wakeOwed && conn.idleAt >= freshSince;
      this.leaveIdle(conn);
      if (fresh) return conn;
    }
    return undefined;
  }

  private noop(conn: GearmanConnection): void {
    conn.noopSent = true;
    conn.wakeOwed = false;
    this.sleepers.delete(conn);
    conn.send(NOOP);
  }

  /** A delayed job (epoch, retry backoff, paused task) becomes runnable at `at`. */
  private wakeAt(at: number): void {
    if (this.stopped || (this.wakeTimer && this.wakeTimer.at <= at)) return;
    this.wakeTimer?.timer.cancel();
    this.wakeTimer = {
      at,
      timer: this.offload.clock.setTimer(() => {
        this.wakeTimer = undefined;
        this.seq++;
        this.queues.forgetAll();
        this.checkSleepingTasks();
      }, at - this.offload.clock.now()),
    };
  }

  /** Backstop for what no event announces (a slot freed in another process, a concurrency key freed, a pause ending). */
  private armPoll(): void {
    if (this.stopped) return;
    this.pollTimer = this.offload.clock.setTimer(() => {
      this.checkSleepingTasks();
      this.armPoll();
    }, this.pollMs);
  }

  private checkSleepingTasks(): void {
    this.check(this.sleepers.functions());
  }

  /** For each task, one query: runnable now → wake one sleeper; later → wake at that time. Coalesced. */
  private check(tasks: string[]): void {
    for (const t of tasks) if (this.sleepers.has(t)) this.toCheck.add(t);
    if (this.checking || this.toCheck.size === 0 || this.stopped) return;
    this.checking = true;
    setImmediate(() => void this.runChecks());
  }

  private async runChecks(): Promise<void> {
    const tasks = [...this.toCheck];
    this.toCheck.clear();
    try {
      for (const task of tasks) {
        if (!this.sleepers.has(task)) continue;
        const next = await this.offload.store.nextRunAt({ tasks: [task] });
        if (next === null) continue;
        if (next <= this.offload.clock.now()) {
          this.queues.forget(task);
          this.wakeOne(task);
        } else {
          this.wakeAt(next);
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'gearman: could not look for runnable jobs; sleeping workers wait for the next check');
    } finally {
      this.checking = false;
      if (this.toCheck.size) this.check([]);
    }
  }

  private leaveIdle(conn: GearmanConnection, tasks?: Iterable<string>): void {
    if (conn.idleAt < 0) return;
    conn.idleAt = -1;
    this.idlers.delete(conn, tasks);
  }
}
