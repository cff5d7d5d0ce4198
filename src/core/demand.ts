/**
 * How much is asked for, counted per fixed window of time: the busiest of the last `remembered`
 * full windows is the estimate of what comes next. Counting per short window keeps a slow
 * consumer's estimate near zero; remembering a few of them keeps a burst in view across a store
 * round trip longer than one window (a flow's stage released at once, then a join's two calls).
 * A gap of `remembered` windows or more counts as no demand. Used to decide how many jobs to claim
 * ahead of those asked for (the worker's and the Gearman port's).
 */
export class DemandWindow {
  private window = Number.NaN;
  private count = 0;
  /** The counts of the full windows before the current one, newest first. */
  private recent: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly remembered: number,
  ) {}

  /** One more asked for at `now`. */
  tick(now: number): void {
    this.roll(now);
    this.count++;
  }

  /** The most asked for in one of the last `remembered` full windows before `now`. */
  last(now: number): number {
    this.roll(now);
    let most = 0;
    for (const n of this.recent) if (n > most) most = n;
    return most;
  }

  /** Forget the estimate (it proved too high). */
  reset(): void {
    this.recent = [];
  }

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w === this.window) return;
    const gap = w - this.window;
    // NaN (the first call) and a clock that went back start afresh, as does a long gap.
    if (!(gap >= 1 && gap <= this.remembered)) this.recent = [];
    else {
      const quiet = new Array<number>(gap - 1).fill(0);
      this.recent = [this.count, ...quiet, ...this.recent].slice(0, this.remembered);
    }
    this.window = w;
    this.count = 0;
  }
}
