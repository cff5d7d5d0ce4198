/**
 * What the Gearman port knows of its functions' queues without asking the store:
 *
 * - which functions have no runnable job. Then a GRAB is answered NO_JOB and a PRE_SLEEP sleeps
 *   without a query; in a busy foreground workload most grabs find nothing, so this saves most
 *   of the port's queries. A function is known empty after a claim for it found nothing while it
 *   had no concurrency limit, no rate limit and no pause (so finishing its jobs makes none of
 *   its others runnable). That knowledge is dropped at anything that may make one of its jobs runnable: an
 *   enqueue, retry or release in this process, a delayed job's time coming, a suspension, any
 *   change by another process (the store's change feed cannot say which functions). The Wakeups
 *   backstop, which asks the store regardless, catches what none of these announces (a job that
 *   waited on a concurrency key).
 * - which functions may have a new job handed straight to a waiting worker: those with no
 *   concurrency limit, no rate limit (a claim counts its starts) and no pause, as last read (at most a second ago; a suspension in this
 *   process is seen at once).
 */
import type { Store } from '../store/store.js';

/** How long a function's limits and pause, as read from the store, are trusted. */
const TRAITS_TTL_MS = 1000;

export class QueueKnowledge {
  private readonly empty = new Set<string>();
  private readonly unlimited = new Map<string, { value: boolean; readAt: number }>();
  /** Reads of limits and pause under way, by task: one at a time per task. */
  private readonly reading = new Map<string, Promise<unknown>>();
  /** Bumped whenever emptiness is taken back, so a claim that raced with that does not restore it. */
  private epoch = 0;
  /** Bumped at each suspension, so a read that raced with one does not undo it. */
  private suspensions = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Taken before a claim; pass it to `learn` with the claim's empty result. */
  get since(): number {
    return this.epoch;
  }

  isEmpty(task: string): boolean {
    return this.empty.has(task);
  }

  allEmpty(tasks: Iterable<string>): boolean {
    for (const t of tasks) if (!this.empty.has(t)) return false;
    return true;
  }

  /**
   * Whether a new job of `task` may go straight to a worker: no concurrency limit, no pause.
   * Not yet known (or stale): it is read for next time, and meanwhile the last answer (or no) holds.
   */
  unlimitedNow(task: string): boolean {
    const known = this.unlimited.get(task);
    if ((!known || this.now() - known.readAt >= TRAITS_TTL_MS) && !this.reading.has(task)) void this.read([task]).catch(() => undefined);
    return known?.value ?? false;
  }

  /** A claim for `tasks`, started at `since`, found nothing: the unlimited, unpaused ones are empty. */
  async learn(tasks: string[], since: number): Promise<void> {
    if (since !== this.epoch) return;
    const unlimited = await this.read(tasks);
    if (since !== this.epoch) return;
    for (const t of unlimited) this.empty.add(t);
  }

  /** A job of `task` may be runnable now. */
  forget(task: string): void {
    this.epoch++;
    this.empty.delete(task);
  }

  /** Any job may be runnable now. */
  forgetAll(): void {
    this.epoch++;
    this.empty.clear();
  }

  /** The task was suspended in this process. */
  suspended(task: string): void {
    this.suspensions++;
    this.forget(task);
    this.unlimited.set(task, { value: false, readAt: this.now() });
  }

  /** Resolves once every read started so far has finished (for tests and diagnostics). */
  async settled(): Promise<void> {
    while (this.reading.size) await Promise.allSettled([...this.reading.values()]);
  }

  /** Reads the tasks' limits and pause; returns the unlimited, unpaused ones. */
  private read(tasks: string[]): Promise<string[]> {
    const reading = this.readTraits(tasks);
    for (const t of tasks) this.reading.set(t, reading);
    void reading
      .catch(() => undefined)
      .finally(() => {
        for (const t of tasks) if (this.reading.get(t) === reading) this.reading.delete(t);
      });
    return reading;
  }

  private async readTraits(tasks: string[]): Promise<string[]> {
    const suspensions = this.suspensions;
    const records = await this.store.getTasks({ names: tasks });
    if (suspensions !== this.suspensions) return [];
    const now = this.now();
    const unlimited: string[] = [];
    for (const r of records) {
      const value = r.settings.concurrency === null && r.settings.rateLimit == null && (r.pausedUntil === null || r.pausedUntil <= now);
      this.unlimited.set(r.name, { value, readAt: now });
      if (value) unlimited.push(r.name);
    }
    return unlimited;
  }
}
