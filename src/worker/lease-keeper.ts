/**
 * Keeps the leases of the jobs a worker holds: renews them all on a timer of its own (so a busy
 * handler never loses its lease), writes their progress at most every 100 ms however chatty the
 * handlers, and says which leases were found lost (cancelled, or taken over after expiring).
 * Used by the worker runtime (local store or HTTP) and by the Gearman port for its connections.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { JobProgress } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { Touch } from '../store/store.js';

export interface LostLease {
  id: string;
  /** Cancelled by someone, rather than taken over after the lease expired. */
  cancelled: boolean;
}

/** Writes touches: progress, and leases extended by `leaseMs` when it is set. */
export type TouchWriter = (p: { touches: Touch[]; leaseMs: number | null; now: number }) => Promise<{ lost: LostLease[] }>;

export interface LeaseKeeperOptions {
  touch: TouchWriter;
  clock: Clock;
  logger: Logger;
  /** Each renewal extends a lease by this much. */
  leaseMs: number;
  /** How often leases are renewed (default leaseMs / 3). */
  heartbeatMs?: number;
  /** Leases found lost: the holder stops working on those jobs. */
  onLost(lost: LostLease[]): void;
  /** Also done on every heartbeat (refresh the worker's record…); its errors are logged. */
  onBeat?(): Promise<void>;
  /** Who keeps the leases, for logs. */
  who: string;
}

interface Kept {
  id: string;
  token: string;
  task: string;
  /** The latest progress; `dirty` while it is not written yet. */
  progress: JobProgress | undefined;
  dirty: boolean;
}

/** Progress writes for all kept leases together, at most this often. */
const PROGRESS_EVERY_MS = 100;

export class LeaseKeeper {
  private readonly kept = new Map<string, Kept>();
  private heartbeatTimer: Timer | undefined;
  private progressTimer: Timer | undefined;
  private lastProgressWrite = Number.NEGATIVE_INFINITY;
  /** The touch in flight: an outcome waits for it, so progress lands before the result. */
  private touching: Promise<unknown> = Promise.resolve();
  /** Jobs whose progress the touch in flight carries. */
  private inFlight = new Set<string>();
  private stopped = false;
  readonly heartbeatMs: number;

  constructor(private readonly o: LeaseKeeperOptions) {
    this.heartbeatMs = o.heartbeatMs ?? Math.max(1, Math.floor(o.leaseMs / 3));
  }

  get size(): number {
    return this.kept.size;
  }

  start(): void {
    this.stopped = false;
    this.armHeartbeat();
  }

  /** Stops renewing (what is kept is the holder's to release); waits for a touch in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeatTimer?.cancel();
    this.progressTimer?.cancel();
    await this.touching;
  }

  /** Starts keeping a job's lease. */
  keep(job: { id: string; token: string; task: string }): void {
    this.kept.set(job.id, { id: job.id, token: job.token, task: job.task, progress: undefined, dirty: false });
  }

  /** Stops keeping it (its outcome is being written, or it was let go). */
  release(id: string): void {
    this.kept.delete(id);
  }

  has(id: string): boolean {
    return this.kept.has(id);
  }

  /** Records a job's progress; written with others within 100 ms. */
  progress(id: string, progress: JobProgress): void {
    const k = this.kept.get(id);
    if (!k) return;
    k.progress = progress;
    k.dirty = true;
    if (this.progressTimer || this.stopped) return;
    const wait = Math.max(0, this.lastProgressWrite + PROGRESS_EVERY_MS - this.o.clock.now());
    this.progressTimer = this.o.clock.setTimer(() => {
      this.progressTimer = undefined;
      void this.writeProgress();
    }, wait);
  }

  /** The latest progress of a kept job, written or not (Gearman's GET_STATUS shows it at once). */
  latestProgress(id: string): JobProgress | undefined {
    return this.kept.get(id)?.progress;
  }

  /** Whether a job's progress is not written yet (or is being written): its outcome waits for `settle`. */
  unsettled(id: string): boolean {
    return this.kept.get(id)?.dirty === true || this.inFlight.has(id);
  }

  /** Before these jobs' outcomes are written: their progress not written yet, and any touch in flight. */
  async settle(ids: string[]): Promise<void> {
    await this.touching;
    await this.writeProgressOf(ids.map((id) => this.kept.get(id)));
  }

  private takeTouch(k: Kept | undefined): Touch | undefined {
    if (!k?.dirty) return undefined;
    k.dirty = false;
    return { id: k.id, token: k.token, task: k.task, progress: k.progress };
  }

  private async writeProgress(): Promise<void> {
    this.lastProgressWrite = this.o.clock.now();
    await this.writeProgressOf([...this.kept.values()]);
  }

  /** Writes the progress of these jobs that is not written yet (no lease extended). */
  private async writeProgressOf(jobs: (Kept | undefined)[]): Promise<void> {
    const touches = jobs.flatMap((k) => {
      const t = this.takeTouch(k);
      return t ? [t] : [];
    });
    if (touches.length === 0) return;
    try {
      const { lost } = await this.write(touches, null);
      if (lost.length) this.o.onLost(lost);
    } catch (err) {
      this.o.logger.warn({ err, worker: this.o.who }, 'could not record progress');
    }
  }

  private armHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.o.clock.setTimer(() => {
      void this.heartbeat().finally(() => this.armHeartbeat());
    }, this.heartbeatMs);
  }

  /** Renews every kept lease (with progress not yet written), then the holder's own beat. */
  async heartbeat(): Promise<void> {
    const touches = [...this.kept.values()].map((k) => this.takeTouch(k) ?? { id: k.id, token: k.token, task: k.task });
    try {
      if (touches.length) {
        const { lost } = await this.write(touches, this.o.leaseMs);
        if (lost.length) this.o.onLost(lost);
      }
      if (!this.stopped) await this.o.onBeat?.();
    } catch (err) {
      this.o.logger.error({ err, worker: this.o.who }, 'heartbeat failed; leases expire if the store stays unreachable');
    }
  }

  private write(touches: Touch[], leaseMs: number | null): Promise<{ lost: LostLease[] }> {
    const carried = new Set(touches.filter((t) => t.progress).map((t) => t.id));
    const w = this.o.touch({ touches, leaseMs, now: this.o.clock.now() });
    this.inFlight = carried;
    this.touching = w
      .catch(() => undefined)
      .finally(() => {
        if (this.inFlight === carried) this.inFlight = new Set();
      });
    return w;
  }
}
