/**
 * Takes and gives back endpoint slots for a group's attempts. One store call at a time: what
 * arrives while one is under way goes in the next, slots given back first, so the room they free
 * is there for the takes that follow. Wakes the attempts that found no room when a slot is given
 * back here, or after a short poll for the other servers' slots.
 */
import { type Clock, sleep } from '../core/clock.js';
import type { EndpointGroup } from '../core/endpoint-group.js';
import type { PushSlotRequest, Store } from '../store/store.js';

/** How often an attempt waiting for room looks again for room freed on other servers. */
const ROOM_POLL_MS = 50;

interface Pending {
  request: PushSlotRequest;
  resolve(endpoint: string | null): void;
  reject(err: unknown): void;
}

export class SlotTaker {
  private pending: Pending[] = [];
  private releases: PushSlotRequest[] = [];
  private scheduled = false;
  private flushing = false;
  private readonly roomWaiters = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly group: () => EndpointGroup,
  ) {}

  take(request: PushSlotRequest): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** The endpoint answered: the slot is free (it would be anyway once the outcome is written). */
  release(slot: PushSlotRequest): void {
    this.releases.push(slot);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Slots were given back here: wakes the attempts waiting for room. */
  private freed(): void {
    for (const wake of [...this.roomWaiters]) wake();
  }

  /** Resolves when a slot may have freed (here, or within ROOM_POLL_MS elsewhere), or at `ms`; rejects when `signal` aborts. */
  async roomMayHaveFreed(ms: number, signal: AbortSignal): Promise<void> {
    const wait = new AbortController();
    const abort = () => wait.abort();
    signal.addEventListener('abort', abort, { once: true });
    this.roomWaiters.add(abort);
    try {
      await sleep(this.clock, Math.min(ms, ROOM_POLL_MS), wait.signal).catch(() => undefined);
    } finally {
      this.roomWaiters.delete(abort);
      signal.removeEventListener('abort', abort);
    }
    signal.throwIfAborted();
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      const releases = this.releases.splice(0);
      const batch = this.pending.splice(0);
      if (batch.length === 0) await this.giveBack(releases);
      else await this.takeFor(batch, releases);
    } finally {
      this.flushing = false;
      if (this.pending.length || this.releases.length) this.schedule();
    }
  }

  private async giveBack(slots: PushSlotRequest[]): Promise<void> {
    if (slots.length === 0) return;
    // A slot not given back ends with its job's lease anyway: a failure here only holds room a little longer.
    await this.store.releasePushSlots({ slots: slots.map((s) => ({ jobId: s.jobId, leaseToken: s.leaseToken })) }).catch(() => undefined);
    this.freed();
  }

  /** Takes slots for `batch`, giving `releases` back first in the same call. */
  private async takeFor(batch: Pending[], releases: PushSlotRequest[]): Promise<void> {
    const g = this.group();
    try {
      const chosen = await this.store.takePushSlots({
        group: g.name,
        requests: batch.map((p) => p.request),
        endpoints: g.endpoints.map((e) => ({ id: e.id, concurrency: e.concurrency, weight: e.weight })),
        groupConcurrency: g.concurrency,
        leastOutstanding: g.balancer === 'least-outstanding',
        release: releases.map((s) => ({ jobId: s.jobId, leaseToken: s.leaseToken })),
        now: this.clock.now(),
      });
      if (releases.length) this.freed();
      batch.forEach((p, i) => {
        p.resolve(chosen[i] ?? null);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
