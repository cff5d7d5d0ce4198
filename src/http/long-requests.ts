/**
 * Counts the long requests (waiting claims and submits, event streams) each caller has open, and
 * refuses one over the limit with 429, so one token cannot hold all the server's sockets.
 */
import { RateLimitedError } from '../core/errors.js';

export class LongRequests {
  private readonly open = new Map<string, number>();
  private readonly closers = new Set<() => void>();

  constructor(private readonly limitPerCaller: number) {}

  /** Takes a slot for `key`; the returned function gives it back (calling it twice is safe). */
  acquire(key: string): () => void {
    const n = this.open.get(key) ?? 0;
    if (n >= this.limitPerCaller)
      throw new RateLimitedError(`${n} long requests (waiting claims, waiting submits, event streams) are already open for this caller, the most allowed`, 1);
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  /** Registers what ends a long request early when the server stops. */
  onClose(fn: () => void): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  /** Ends every long request (the server is stopping): claims answer with no jobs, streams end. */
  closeAll(): void {
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
  }

  get size(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }
}
