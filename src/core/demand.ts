/**
 * How much is asked for, counted per fixed window of time: what came in the last full window is
 * the estimate of what comes next. A gap of a window or more counts as no demand. Used to decide
 * how many jobs to claim ahead of those asked for (the worker's and the Gearman port's).
 */
export class DemandWindow {
  private window = Number.NaN;
  private count = 0;
  private previous = 0;

  constructor(private readonly windowMs: number) {}

  /** One more asked for at `now`. */
  tick(now: number): void {
    this.roll(now);
    this.count++;
  }

  /** How many were asked for in the last full window before `now`. */
  last(now: number): number {
    this.roll(now);
    return this.previous;
  }

  /** Forget the estimate (it proved too high). */
  reset(): void {
    this.previous = 0;
  }

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w === this.window) return;
    this.previous = w === this.window + 1 ? this.count : 0;
    this.window = w;
    this.count = 0;
  }
}
