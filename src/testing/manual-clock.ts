import type { Clock, Timer } from '../core/clock.js';

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer that falls due, in
 * order, and lets the promise jobs they start run before it returns.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];
  private readonly busyChecks: (() => boolean)[] = [];

  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /**
   * Before each timer fires, `advance` also waits while `check` says that work started earlier is
   * still under way outside the process (a database round trip): what a timer starts on a store
   * that answers over the network finishes before the clock moves on, as it does on SQLite.
   */
  waitWhileBusy(check: () => boolean): void {
    this.busyChecks.push(check);
  }

  /** Moves time forward by `ms`, firing due timers (and timers they set that also fall due). */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await this.settle();
      const next = this.nextDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    await this.settle();
  }

  private async settle(): Promise<void> {
    await settle();
    while (this.busyChecks.some((busy) => busy())) {
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      await settle();
    }
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    this.timers = this.timers.filter((t) => !t.cancelled);
    return this.timers.length;
  }

  private nextDue(target: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= target && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }
}

/** Lets pending promise reactions and immediates run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
