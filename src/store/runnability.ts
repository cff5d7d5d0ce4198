/**
 * The one "work may be runnable" signal of a process: every way in that waits for work (the
 * worker runtime, long-polled HTTP claims, sleeping Gearman workers) subscribes here for its
 * tasks, instead of listening to the event bus and the store's change feed each in its own way.
 *
 * It says a job of a task may be claimable at a time (now or later), and why: a job was queued
 * (submitted, retried, released), a concurrency slot was freed (a job of a limited task, or one
 * with a concurrency key, stopped running; the key is given), a suspension ends, or another
 * process changed the store (on PostgreSQL it names the tasks; on SQLite it cannot: every task),
 * or a start under a rate limit leaves its window.
 */
import type { EventBus } from '../core/events.js';
import { onJobRunnable } from '../core/events.js';
import type { Store } from './store.js';

export interface RunnableSignal {
  task: string;
  /** When a job may be claimable (epoch ms): now, or a delayed job's run time, or a suspension's end. */
  at: number;
  why: 'queued' | 'slot-freed' | 'resumed' | 'elsewhere';
  /** For `slot-freed`: the concurrency key whose slot was freed, if the job had one. */
  concurrencyKey?: string | null;
}

/** `tasks` null: every task (and `anything` for a change by another process that names none). */
type Subscriber = { tasks: Set<string> | null; fn: (s: RunnableSignal) => void; anything?: () => void };

export class Runnability {
  private readonly subscribers = new Set<Subscriber>();
  private offs: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus,
    private readonly store: Pick<Store, 'watch'>,
    /** Whether a task has a concurrency limit, as far as this process knows without asking (a freed slot matters then). */
    private readonly isLimited: (task: string) => boolean,
    /** A task's rate limit, as far as this process knows without asking. */
    private readonly rateLimitOf: (task: string) => { key: string; periodMs: number } | null,
    private readonly now: () => number,
  ) {}

  /** Calls `fn` for each signal about one of `tasks`; returns the unsubscribe function. */
  subscribe(tasks: Iterable<string>, fn: (s: RunnableSignal) => void): () => void {
    return this.add({ tasks: new Set(tasks), fn });
  }

  /**
   * Calls `fn` for each signal about any task, and `anything` when another process changed the
   * store without saying which tasks (SQLite): for a front door whose tasks come and go (Gearman).
   */
  subscribeAll(fn: (s: RunnableSignal) => void, anything: () => void): () => void {
    return this.add({ tasks: null, fn, anything });
  }

  private add(sub: Subscriber): () => void {
    this.subscribers.add(sub);
    if (this.subscribers.size === 1) this.listen();
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.unlisten();
    };
  }

  /** Listens while someone is subscribed: an Offload without waiting workers does not watch the store. */
  private listen(): void {
    const { bus } = this;
    const slotFreed = (e: { task: string; concurrencyKey?: string | null }) => {
      const key = e.concurrencyKey ?? null;
      if (key !== null || this.isLimited(e.task)) this.signal({ task: e.task, at: this.now(), why: 'slot-freed', concurrencyKey: key });
    };
    // A job retried or released for later gives its slot back now; one runnable now takes it again (a 'queued' signal says so).
    const slotFreedFor = (e: { task: string; runAt: number; concurrencyKey?: string | null }) => {
      if (e.runAt > this.now()) slotFreed(e);
    };
    this.offs = [
      onJobRunnable(bus, (e) => this.signal({ task: e.task, at: e.runAt, why: 'queued' })),
      bus.on('job:succeeded', slotFreed),
      bus.on('job:failed', slotFreed),
      bus.on('job:cancelled', slotFreed),
      bus.on('job:retrying', slotFreedFor),
      bus.on('job:released', slotFreedFor),
      // A start under a rate limit leaves its window a period later: the key's tasks may start another then.
      bus.on('job:started', (e) => {
        const rate = this.rateLimitOf(e.task);
        if (!rate) return;
        const at = this.now() + rate.periodMs;
        this.signal({ task: e.task, at, why: 'slot-freed' });
        for (const task of this.sharingKey(e.task, rate.key)) this.signal({ task, at, why: 'slot-freed' });
      }),
      bus.on('task:suspended', (e) => this.signal({ task: e.task, at: e.until, why: 'resumed' })),
      bus.on('task:resumed', (e) => this.signal({ task: e.task, at: this.now(), why: 'resumed' })),
      this.store.watch((change) => {
        const at = this.now();
        if (change.tasks === null) {
          for (const task of this.allTasks()) this.signal({ task, at, why: 'elsewhere' }, false);
          for (const s of [...this.subscribers]) if (s.tasks === null) s.anything?.();
        } else {
          for (const task of new Set(change.tasks)) this.signal({ task, at, why: 'elsewhere' });
        }
      }),
    ];
  }

  private unlisten(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** The other subscribed tasks whose rate limit has this key. */
  private sharingKey(task: string, key: string): Set<string> {
    const sharing = new Set<string>();
    for (const s of this.subscribers) for (const t of s.tasks ?? []) if (t !== task && this.rateLimitOf(t)?.key === key) sharing.add(t);
    return sharing;
  }

  private allTasks(): Set<string> {
    const all = new Set<string>();
    for (const s of this.subscribers) for (const t of s.tasks ?? []) all.add(t);
    return all;
  }

  /** `toAll`: also to the every-task subscribers (not for the expansion of an unnamed change, which they hear as `anything`). */
  private signal(s: RunnableSignal, toAll = true): void {
    for (const sub of [...this.subscribers]) {
      if (sub.tasks === null ? !toAll : !sub.tasks.has(s.task)) continue;
      try {
        sub.fn(s);
      } catch (err) {
        process.emitWarning(`Offload runnability subscriber threw: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }
}
