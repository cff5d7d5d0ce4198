/**
 * Slows down guessing: an address that fails to authenticate `limit` times within `windowMs` gets
 * 429 RATE_LIMITED (with Retry-After) for every request carrying a token, until its oldest
 * failure leaves the window. Memory is bounded: at most `maxAddresses` are tracked.
 */
import type { Clock } from '../core/clock.js';

export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfterSeconds(address: string): number {
    const times = this.recent(address);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - this.clock.now()) / 1000));
  }

  recordFailure(address: string): void {
    const times = this.recent(address);
    times.push(this.clock.now());
    if (times.length > this.limit) times.shift();
    // Re-inserted last: the map's first key is then the address that failed least recently.
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string): number[] {
    const cutoff = this.clock.now() - this.windowMs;
    const times = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}
