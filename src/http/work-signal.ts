/**
 * Wakes a long-polled claim when jobs of its tasks may have become runnable: a job enqueued,
 * retried or released in this process (events), a change by another process (the store's
 * change feed), a delayed job falling due, or a running job finishing (a concurrency slot frees
 * up). Subscribed before the first claim, so a job enqueued between a claim and the wait is
 * never missed. No loop sleeps; a slow backstop covers paused tasks.
 */
import type { Timer } from '../core/clock.js';
import { onJobRunnable } from '../core/events.js';
import type { Offload } from '../offload.js';

const BACKSTOP_MS = 5000;

export class WorkSignal {
  private signalled = false;
  private wake: (() => void) | undefined;
  private dueTimer: { at: number; timer: Timer } | undefined;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly offload: Offload,
    tasks: string[],
  ) {
    const mine = new Set(tasks);
    const onRunnable = (e: { task: string; runAt: number }) => {
      if (mine.has(e.task)) this.dueAt(e.runAt);
    };
    const onFinished = (e: { task: string }) => {
      if (mine.has(e.task)) this.fire();
    };
    const { bus, store } = offload;
    this.unsubscribe = [
      onJobRunnable(bus, onRunnable),
      bus.on('job:succeeded', onFinished),
      bus.on('job:failed', onFinished),
      bus.on('job:cancelled', onFinished),
      bus.on('task:suspended', (e) => {
        if (mine.has(e.task)) this.dueAt(e.until);
      }),
      store.watch((change) => {
        if (change.tasks === null || change.tasks.some((t) => mine.has(t))) this.fire();
      }),
    ];
    void offload.store.nextRunAt({ tasks }).then(
      (at) => {
        if (at !== null && at > offload.clock.now()) this.dueAt(at);
      },
      () => {},
    );
  }

  /** Resolves at the next wake-up (at once if one came since the last wait), or after `ms`. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.signalled || signal.aborted) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = this.offload.clock.setTimer(done, Math.min(ms, BACKSTOP_MS));
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
      function done() {
        timer.cancel();
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.dueTimer?.timer.cancel();
    this.wake = undefined;
  }

  private fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.signalled = true;
  }

  private dueAt(runAt: number): void {
    const now = this.offload.clock.now();
    if (runAt <= now) return this.fire();
    if (this.dueTimer && this.dueTimer.at <= runAt) return;
    this.dueTimer?.timer.cancel();
    this.dueTimer = {
      at: runAt,
      timer: this.offload.clock.setTimer(() => {
        this.dueTimer = undefined;
        this.fire();
      }, runAt - now),
    };
  }
}
