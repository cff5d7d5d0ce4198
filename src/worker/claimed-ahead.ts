/**
 * Jobs claimed ahead of demand, oldest first: a worker's beyond its free slots while its handlers
 * finish fast, and the Gearman port's for a function whose workers grab fast (one per function).
 * The next job is handed out the moment it is asked for, with no claim in between, and claims come
 * in fewer, larger transactions. As many are wanted as were asked for in the busiest
 * AHEAD_WINDOW_MS of the last AHEAD_WINDOWS, at most `max`: a consumer slower than the window
 * holds next to none, and a burst still counts after a store round trip longer than one window
 * (with one window, a PostgreSQL call of 6 ms left a flow's released stage out of it, and the
 * worker claimed each stage in several calls). The holder keeps their leases and gives back,
 * the attempt not counted, what waited HOLD_MS (`takeStale`) and everything at stop (`takeAll`).
 */
import { DemandWindow } from '../core/demand.js';
import type { ClaimedJob } from '../store/store.js';

const AHEAD_WINDOW_MS = 10;
const AHEAD_WINDOWS = 3;
/** A job held this long unstarted goes back to the queue. */
export const HOLD_MS = 250;

interface Held {
  job: ClaimedJob;
  at: number;
}

export class ClaimedAhead {
  private held: Held[] = [];
  private next = 0;
  private readonly demand = new DemandWindow(AHEAD_WINDOW_MS, AHEAD_WINDOWS);

  constructor(private readonly max: number) {}

  get size(): number {
    return this.held.length - this.next;
  }

  /** When the oldest held job is due to go back, or undefined with none held. */
  get dueAt(): number | undefined {
    return this.size > 0 ? this.held[this.next].at + HOLD_MS : undefined;
  }

  /** How many to hold, going by the last window's demand. */
  expected(now: number): number {
    return Math.min(this.max, this.demand.last(now));
  }

  /** How many more to claim ahead now. */
  wanted(now: number): number {
    return Math.max(0, this.expected(now) - this.size);
  }

  /** A job was asked for (started, or grabbed), whether it came from here or not: demand. */
  started(now: number): void {
    this.demand.tick(now);
  }

  hold(job: ClaimedJob, now: number): void {
    this.held.push({ job, at: now });
  }

  /** The oldest held job, now no longer held. */
  take(): ClaimedJob | undefined {
    if (this.next >= this.held.length) return undefined;
    const { job } = this.held[this.next++];
    if (this.next > 64 && this.next * 2 > this.held.length) {
      this.held = this.held.slice(this.next);
      this.next = 0;
    }
    return job;
  }

  /** Stops holding `id` (cancelled, or its lease lost); whether it was held. */
  drop(id: string): boolean {
    const i = this.held.findIndex((h, k) => k >= this.next && h.job.id === id);
    if (i < 0) return false;
    this.held.splice(i, 1);
    return true;
  }

  /** The jobs held HOLD_MS or longer, no longer held; the demand estimate starts again. */
  takeStale(now: number): ClaimedJob[] {
    let n = 0;
    while (this.next + n < this.held.length && this.held[this.next + n].at + HOLD_MS <= now) n++;
    if (n === 0) return [];
    this.demand.reset();
    return this.held.splice(this.next, n).map((h) => h.job);
  }

  takeAll(): ClaimedJob[] {
    const all = this.held.slice(this.next).map((h) => h.job);
    this.held = [];
    this.next = 0;
    return all;
  }
}
