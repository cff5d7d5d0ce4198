/**
 * Time as Offload sees it. Every timestamp and every timer goes through a Clock, so tests can
 * move time forward (see `ManualClock` in `offload/testing`) instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds of this clock's time. */
  setTimer(fn: () => void, ms: number): Timer;
}

export interface Timer {
  cancel(): void;
}

/** The longest a timer can wait: past it, Node's setTimeout fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // Not unref'd: a running worker or server, and a shutdown in progress, keep the process
    // alive; close() cancels every timer, so a closed Offload never holds a process open.
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after `ms` of the clock's time, or rejects when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn` once at the earliest time asked for (`at(time)`), at once for a time already past:
 * "wake me when the next delayed job falls due", however many times it is asked.
 */
export class Alarm {
  private pending: { at: number; timer: Timer } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  at(time: number): void {
    const now = this.clock.now();
    if (time <= now) return this.fn();
    if (this.pending && this.pending.at <= time) return;
    this.pending?.timer.cancel();
    this.pending = {
      at: time,
      timer: this.clock.setTimer(() => {
        this.pending = undefined;
        this.fn();
      }, time - now),
    };
  }

  cancel(): void {
    this.pending?.timer.cancel();
    this.pending = undefined;
  }
}
