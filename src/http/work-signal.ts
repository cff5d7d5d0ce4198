/**
 * Wakes a long-polled claim when jobs of its tasks may have become runnable: the process's
 * runnability signal (a job queued, a concurrency slot freed, a suspension over, another process's
 * change), and a delayed job or suspension falling due. Subscribed before the first claim, so a
 * job enqueued between a claim and the wait is never missed. No loop sleeps; a slow backstop
 * covers what no signal announces.
 */
import { Alarm } from '../core/clock.js';
import type { Offload } from '../offload.js';

const BACKSTOP_MS = 5000;

export class WorkSignal {
  private signalled = false;
  private wake: (() => void) | undefined;
  private readonly due: Alarm;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly offload: Offload,
    tasks: string[],
  ) {
    this.due = new Alarm(offload.clock, () => this.fire());
    this.unsubscribe = offload.runnability.subscribe(tasks, (s) => this.dueAt(s.at));
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
    this.unsubscribe();
    this.due.cancel();
    this.wake = undefined;
  }

  private fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.signalled = true;
  }

  private dueAt(runAt: number): void {
    this.due.at(runAt);
  }
}
