/**
 * Takes endpoint slots for a group's attempts, the requests of one turn of the event loop in one
 * store call (one transaction under the group's lock), and wakes the attempts that found no room
 * when a job of the group stops running here, or after a short poll for the other servers' jobs.
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
  private scheduled = false;
  private readonly roomWaiters = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly group: () => EndpointGroup,
  ) {}

  take(request: PushSlotRequest): Promise<string | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** A job of the group stopped running in this process: its slot is free. */
  freed(): void {
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
    const batch = this.pending.splice(0);
    const g = this.group();
    try {
      const chosen = await this.store.takePushSlots({
        group: g.name,
        requests: batch.map((p) => p.request),
        endpoints: g.endpoints.map((e) => ({ id: e.id, concurrency: e.concurrency, weight: e.weight })),
        groupConcurrency: g.concurrency,
        leastOutstanding: g.balancer === 'least-outstanding',
        now: this.clock.now(),
      });
      batch.forEach((p, i) => {
        p.resolve(chosen[i] ?? null);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
