/**
 * The room a claim has under rate limits: per task, its limit less the starts of its key within
 * its window, less the jobs of any task of that key this claim already took. The stores count
 * the starts; this keeps the arithmetic in one place for both.
 */
export class RateRoom {
  private readonly tasks = new Map<string, { bucket: string; left: number }>();
  private readonly taken = new Map<string, number>();
  /** Each rate-limited task seen, with its key. */
  readonly keys = new Map<string, string>();

  /** Each key's total of starts before this claim, as its count said. */
  readonly totals = new Map<string, number>();

  constructor(
    /** The key's total of starts, and its total at `since` (the starts after `since` are the difference). */
    private readonly countStarts: (bucket: string, since: number) => { total: number; base: number },
    private readonly now: number,
  ) {}

  /** Registers a task's limit; returns how many of its jobs may start now. */
  add(task: string, bucket: string, limit: number, periodMs: number): number {
    const { total, base } = this.countStarts(bucket, this.now - periodMs);
    this.totals.set(bucket, total);
    const left = limit - (total - base);
    this.tasks.set(task, { bucket, left });
    this.keys.set(task, bucket);
    return Math.max(0, left);
  }

  /** Whether one more job of `task` may start (always, for a task without a limit). */
  hasRoom(task: string): boolean {
    const t = this.tasks.get(task);
    return !t || t.left - (this.taken.get(t.bucket) ?? 0) > 0;
  }

  /** A job of `task` was taken. */
  take(task: string): void {
    const t = this.tasks.get(task);
    if (t) this.taken.set(t.bucket, (this.taken.get(t.bucket) ?? 0) + 1);
  }
}
