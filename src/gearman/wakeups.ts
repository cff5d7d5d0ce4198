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
import { Alarm, type Timer } from '../core/clock.js';
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
  /** A delayed job (epoch, retry backoff, paused task) becomes runnable: every sleeping function is looked at. */
  private readonly wake: Alarm;
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
    this.wake = new Alarm(offload.clock, () => {
      this.seq++;
      this.queues.forgetAll();
      this.checkSleepingTasks();
    });
  }

  start(): void {
    this.unsubscribe.push(
      this.offload.runnability.subscribeAll(
        (signal) => {
          if (signal.why === 'queued') this.onRunnable(signal.task, signal.at);
          else if (signal.why === 'slot-freed') this.slotFreed(signal.task);
          else if (signal.why === 'resumed') this.resumesAt(signal.task, signal.at);
          else this.changedElsewhere(signal.task);
        },
        // Another process changed the store (it cannot say which tasks, on SQLite): look.
        () => {
          this.seq++;
          this.queues.forgetAll();
          this.checkSleepingTasks();
        },
      ),
    );
    this.armPoll();
  }

  /** A suspension of `task` ends at `until`: no job of it wakes anyone before then. */
  private resumesAt(task: string, until: number): void {
    this.queues.suspended(task);
    this.suspendedUntil.set(task, Math.max(until, this.suspendedUntil.get(task) ?? 0));
    this.wakeAt(until);
  }

  /** Another process changed jobs of `task`: maybe one is runnable now. */
  private changedElsewhere(task: string): void {
    this.seq++;
    this.queues.forget(task);
    this.check([task]);
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.pollTimer?.cancel();
    this.wake.cancel();
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
    if (conn.closed || !conn.worker.isWorker) return;
    conn.worker.idle(this.offload.clock.now());
    this.idlers.add(conn);
  }

  /** PRE_SLEEP: NOOP at once if work may be waiting, else sleep until a wake-up. */
  preSleep(conn: GearmanConnection): void {
    this.leaveIdle(conn);
    const w = conn.worker;
    w.fallAsleep();
    // Work was meant for it while it was idle.
    if (w.wakeOwed || w.reserved) return this.noop(conn);
    this.sleepers.add(conn);
    // Its last GRAB found nothing and nothing happened since, or there is nothing to find: checking
    // again would only make a storm.
    if (w.emptyGrabSeq === this.seq || !w.isWorker || this.queues.allEmpty(w.abilities.keys())) return;
    void this.offload.store.nextRunAt({ tasks: [...w.abilities.keys()] }).then(
      (next) => {
        if (next === null || !w.sleeping || w.noopSent) return;
        if (next <= this.offload.clock.now()) this.noop(conn);
        else this.wakeAt(next);
      },
      (err: unknown) => this.logger.warn({ err }, 'gearman: could not look for runnable jobs; the worker sleeps until the next wake-up'),
    );
  }

  /** Any GRAB: the worker is awake. */
  awake(conn: GearmanConnection): void {
    if (conn.worker.sleeping) this.sleepers.delete(conn);
    this.leaveIdle(conn);
    conn.worker.awake();
  }

  /** The connection closed or dropped abilities: if it was woken and never came to take the job, wake another. */
  forget(conn: GearmanConnection, tasks: Iterable<string> = conn.worker.abilities.keys()): void {
    const woken = conn.worker.noopSent || conn.worker.wakeOwed;
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
    conn?.worker.oweWake();
    return conn;
  }

  /** A job is meant for a worker from `takeWaitingWorker`: wake it if it sleeps (an idle one is told at its PRE_SLEEP, a lingering GRAB answered). */
  handOver(conn: GearmanConnection): void {
    if (conn.worker.sleeping && !conn.worker.noopSent) this.noop(conn);
  }

  /** The job meant for a worker from `takeWaitingWorker` did not come (coalesced, or refused): it waits on. */
  giveBack(conn: GearmanConnection): void {
    if (!conn.worker.forgiveWake() || conn.closed) return;
    if (conn.worker.lingering) this.linger(conn);
    else if (conn.worker.sleeping && !conn.worker.noopSent) this.sleepers.add(conn);
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
   * A job of `task` with a concurrency key, or of a function with a concurrency limit, stopped
   * running: a queued job may have waited for that slot, so a sleeper looks (one query, only
   * while some sleep on the function; unlimited functions, the hot path, never signal this).
   */
  private slotFreed(task: string): void {
    this.seq++;
    if (this.sleepers.has(task)) this.check([task]);
  }

  /** Jobs of `task` were claimed ahead for this port: up to `count` workers waiting for it are woken to take them. */
  wakeWaiting(task: string, count: number): void {
    for (let i = 0; i < count; i++) if (!this.wakeOne(task)) return;
  }

  /** Answers a lingering GRAB of `task`, or wakes a sleeping worker, or tells an idle one to look at its PRE_SLEEP. */
  private wakeOne(task: string): boolean {
    const conn = this.waitingWorker(task);
    if (!conn) return false;
    if (conn.worker.lingering) this.onLingerWake(conn);
    else if (conn.worker.sleeping) this.noop(conn);
    else conn.worker.oweWake();
    return true;
  }

  /** A lingering GRAB of `task`, else a sleeping worker not yet woken, else a recently idle one; taken off its list. */
  private waitingWorker(task: string): GearmanConnection | undefined {
    for (const conn of this.lingerers.of(task)) {
      if (conn.closed || !conn.worker.lingering || conn.worker.wakeOwed) continue;
      this.lingerers.delete(conn);
      return conn;
    }
    for (const conn of this.sleepers.of(task)) {
      if (conn.closed || conn.worker.noopSent || conn.worker.wakeOwed) continue;
      this.sleepers.delete(conn);
      return conn;
    }
    const freshSince = this.offload.clock.now() - IDLE_MS;
    for (const conn of this.idlers.of(task)) {
      const fresh = !conn.closed && !conn.worker.wakeOwed && conn.worker.idleAt >= freshSince;
      this.leaveIdle(conn);
      if (fresh) return conn;
    }
    return undefined;
  }

  private noop(conn: GearmanConnection): void {
    conn.worker.nooping();
    this.sleepers.delete(conn);
    conn.send(NOOP);
  }

  /** A delayed job (epoch, retry backoff, paused task) becomes runnable at `at`. */
  private wakeAt(at: number): void {
    if (!this.stopped) this.wake.at(at);
  }

  /** Backstop for what no signal announces (a slot of a task-wide limit freed in another process, a pause set elsewhere ending). */
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
    if (conn.worker.leaveIdle()) this.idlers.delete(conn, tasks);
  }
}
