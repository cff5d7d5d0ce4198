/**
 * Sleeping Gearman workers and their NOOPs. gearmand wakes every sleeping worker of a function
 * for each new job, and all but one of them find nothing (NOOP storms, gearmand issue #232).
 * Here a runnable job wakes one sleeping worker; a worker that takes a job passes the wake-up on
 * when more work waits; a NOOP is sent at most once per sleep; and a worker whose last GRAB found
 * nothing is not woken by PRE_SLEEP until something has changed since.
 */
import type { Timer } from '../core/clock.js';
import { onJobRunnable } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import { type GearmanConnection, response } from './connection.js';
import { PacketType } from './protocol.js';

const NOOP = response(PacketType.NOOP);

export class Wakeups {
  /** Bumped by every event that may make a job runnable; see `preSleep`. */
  seq = 0;
  private readonly sleepers = new Map<string, Set<GearmanConnection>>();
  private readonly unsubscribe: (() => void)[] = [];
  private wakeTimer: { at: number; timer: Timer } | undefined;
  private pollTimer: Timer | undefined;
  private readonly toCheck = new Set<string>();
  private checking = false;
  private stopped = false;

  constructor(private readonly offload: Offload, private readonly logger: Logger, private readonly pollMs: number) {}

  start(): void {
    const { bus, store } = this.offload;
    const runnable = (e: { task: string; runAt: number }) => this.onRunnable(e.task, e.runAt);
    const changed = () => { this.seq++; };
    this.unsubscribe.push(
      onJobRunnable(bus, runnable),
      bus.on('job:succeeded', changed),
      bus.on('job:failed', changed),
      bus.on('job:cancelled', changed),
      bus.on('task:suspended', (e) => this.wakeAt(e.until)),
      // Another process changed the store (it cannot say which tasks, on SQLite): look.
      store.watch(() => {
        this.seq++;
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

  /** PRE_SLEEP: NOOP at once if work may be waiting, else sleep until a wake-up. */
  preSleep(conn: GearmanConnection): void {
    conn.sleeping = true;
    conn.noopSent = false;
    for (const task of conn.abilities.keys()) this.sleepersOf(task).add(conn);
    // Its last GRAB found nothing and nothing happened since: checking again would only make a storm.
    if (conn.emptyGrabSeq === this.seq || conn.abilities.size === 0) return;
    void this.offload.store.nextRunAt({ tasks: [...conn.abilities.keys()] }).then((next) => {
      if (next === null || !conn.sleeping || conn.noopSent) return;
      if (next <= this.offload.clock.now()) this.noop(conn);
      else this.wakeAt(next);
    }, (err: unknown) => this.logger.warn({ err }, 'gearman: could not look for runnable jobs; the worker sleeps until the next wake-up'));
  }

  /** Any GRAB: the worker is awake. */
  awake(conn: GearmanConnection): void {
    if (conn.sleeping) this.removeSleeper(conn);
    conn.sleeping = false;
    conn.noopSent = false;
  }

  /** The connection closed or dropped abilities: if it was woken and never came to take the job, wake another. */
  forget(conn: GearmanConnection, tasks: Iterable<string> = conn.abilities.keys()): void {
    const woken = conn.noopSent;
    const list = [...tasks];
    this.removeSleeper(conn, list);
    if (woken) this.check(list);
  }

  /** A worker took a job of `task`: if others sleep on it and more may wait, one of them looks. */
  assigned(task: string): void {
    if (this.sleepersOf(task).size > 0) this.check([task]);
  }

  // ---- waking ----------------------------------------------------------------------------------

  private onRunnable(task: string, runAt: number): void {
    this.seq++;
    if (runAt <= this.offload.clock.now()) this.wakeOne(task);
    else this.wakeAt(runAt);
  }

  private wakeOne(task: string): boolean {
    const sleeping = this.sleepers.get(task);
    if (!sleeping) return false;
    for (const conn of sleeping) {
      if (conn.closed || conn.noopSent) continue;
      this.noop(conn);
      return true;
    }
    return false;
  }

  private noop(conn: GearmanConnection): void {
    conn.noopSent = true;
    this.removeSleeper(conn);
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
        this.checkSleepingTasks();
      }, at - this.offload.clock.now()),
    };
  }

  /** Backstop for what no event announces (a concurrency slot freed elsewhere, a pause ending). */
  private armPoll(): void {
    if (this.stopped) return;
    this.pollTimer = this.offload.clock.setTimer(() => {
      this.checkSleepingTasks();
      this.armPoll();
    }, this.pollMs);
  }

  private checkSleepingTasks(): void {
    this.check([...this.sleepers.keys()]);
  }

  /** For each task, one query: runnable now → wake one sleeper; later → wake at that time. Coalesced. */
  private check(tasks: string[]): void {
    for (const t of tasks) if (this.sleepers.get(t)?.size) this.toCheck.add(t);
    if (this.checking || this.toCheck.size === 0 || this.stopped) return;
    this.checking = true;
    setImmediate(() => void this.runChecks());
  }

  private async runChecks(): Promise<void> {
    const tasks = [...this.toCheck];
    this.toCheck.clear();
    try {
      for (const task of tasks) {
        if (!this.sleepers.get(task)?.size) continue;
        const next = await this.offload.store.nextRunAt({ tasks: [task] });
        if (next === null) continue;
        if (next <= this.offload.clock.now()) this.wakeOne(task);
        else this.wakeAt(next);
      }
    } catch (err) {
      this.logger.warn({ err }, 'gearman: could not look for runnable jobs; sleeping workers wait for the next check');
    } finally {
      this.checking = false;
      if (this.toCheck.size) this.check([]);
    }
  }

  private sleepersOf(task: string): Set<GearmanConnection> {
    let set = this.sleepers.get(task);
    if (!set) this.sleepers.set(task, (set = new Set()));
    return set;
  }

  private removeSleeper(conn: GearmanConnection, tasks: Iterable<string> = conn.abilities.keys()): void {
    for (const task of tasks) {
      const set = this.sleepers.get(task);
      if (!set) continue;
      set.delete(conn);
      if (set.size === 0) this.sleepers.delete(task);
    }
  }
}
