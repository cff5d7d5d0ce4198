import type { BatchRow } from '../core/batch.js';
import type { Clock } from '../core/clock.js';
import { WaitTimeoutError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { isFinished, type JobRow } from '../core/job.js';
import type { Store, StoreChange } from '../store/store.js';

export interface WaitOptions {
  /** Give up (WaitTimeoutError) after this long; the job goes on. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * Resolves promises when jobs or batches finish, whoever finishes them: this process (events on
 * the bus, no query until the job is done) or another one (the store's change feed, then one
 * query for everything being waited on). Nothing polls a job row in a loop.
 */
export class Waiters {
  private readonly jobs = new Map<string, Set<Pending<JobRow>>>();
  private readonly batches = new Map<string, Set<Pending<BatchRow>>>();
  private unwatch: (() => void) | undefined;
  private checking: Promise<void> | undefined;
  /** What the next check looks at: these ids, or 'all' (the store could not tell). */
  private jobsToCheck: Set<string> | 'all' | undefined;
  private batchesToCheck: Set<string> | 'all' | undefined;

  constructor(
    private readonly store: Store,
    bus: EventBus,
    private readonly clock: Clock,
  ) {
    const onJobDone = (e: { id: string }) => {
      if (this.jobs.has(e.id)) void this.checkJobs([e.id]);
    };
    bus.on('job:succeeded', onJobDone);
    bus.on('job:failed', onJobDone);
    bus.on('job:cancelled', onJobDone);
    bus.on('batch:finished', (e) => {
      if (this.batches.has(e.id)) void this.checkBatches([e.id]);
    });
  }

  waitForJob(id: string, opts: WaitOptions = {}): Promise<JobRow> {
    return this.wait(this.jobs, id, opts, () => this.checkJobSoon(id), 'job');
  }

  private soonIds: string[] = [];
  private soonCheck: Promise<void> | undefined;

  /** Waits begun in one turn of the event loop (a thousand `handle.result()` calls) are checked with one query. */
  private checkJobSoon(id: string): Promise<void> {
    this.soonIds.push(id);
    this.soonCheck ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const ids = this.soonIds;
      this.soonIds = [];
      this.soonCheck = undefined;
      return this.checkJobs(ids);
    });
    return this.soonCheck;
  }

  waitForBatch(id: string, opts: WaitOptions = {}): Promise<BatchRow> {
    return this.wait(this.batches, id, opts, () => this.checkBatches([id]), 'batch');
  }

  private wait<T>(map: Map<string, Set<Pending<T>>>, id: string, opts: WaitOptions, check: () => Promise<void>, what: 'job' | 'batch'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      let set = map.get(id);
      if (!set) map.set(id, (set = new Set()));
      const cleanup = () => {
        timer?.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
        set!.delete(entry);
        if (set!.size === 0 && map.get(id) === set) map.delete(id);
        this.updateWatch();
      };
      const entry: Pending<T> = {
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = () => entry.reject(opts.signal!.reason);
      const timer =
        opts.timeoutMs === undefined ? undefined : this.clock.setTimer(() => entry.reject(new WaitTimeoutError(id, opts.timeoutMs!, what)), opts.timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      set.add(entry);
      this.updateWatch();
      // Registered first, then checked: a job that finished in between is not missed.
      check().catch((err) => entry.reject(err));
    });
  }

  private async checkJobs(ids: string[]): Promise<void> {
    const waited = ids.filter((id) => this.jobs.has(id));
    if (waited.length === 0) return;
    for (const row of await this.store.getJobs({ ids: waited })) {
      if (!isFinished(row.state)) continue;
      for (const p of [...(this.jobs.get(row.id) ?? [])]) p.resolve(row);
    }
  }

  private async checkBatches(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (!this.batches.has(id)) continue;
      const row = await this.store.getBatch({ id });
      if (row?.finishedAt == null) continue;
      for (const p of [...(this.batches.get(id) ?? [])]) p.resolve(row);
    }
  }

  /** Follows the store's change feed only while someone waits (polling it costs on SQLite). */
  private updateWatch(): void {
    const waiting = this.jobs.size + this.batches.size > 0;
    if (waiting && !this.unwatch) this.unwatch = this.store.watch((change) => this.onStoreChange(change));
    if (!waiting && this.unwatch) {
      this.unwatch();
      this.unwatch = undefined;
    }
  }

  /**
   * Changes that arrive while a check runs are merged and checked next, by id when the store
   * said which jobs finished; only a change that says nothing specific rechecks every wait.
   */
  private onStoreChange(change: StoreChange): void {
    this.jobsToCheck = mergeIds(this.jobsToCheck, change.finished);
    this.batchesToCheck = mergeIds(this.batchesToCheck, change.finishedBatches);
    if (!this.checking) this.runChecks();
  }

  private runChecks(): void {
    const jobs = this.jobsToCheck === 'all' ? [...this.jobs.keys()] : [...(this.jobsToCheck ?? [])].filter((id) => this.jobs.has(id));
    const batches = this.batchesToCheck === 'all' ? [...this.batches.keys()] : [...(this.batchesToCheck ?? [])].filter((id) => this.batches.has(id));
    this.jobsToCheck = this.batchesToCheck = undefined;
    if (jobs.length === 0 && batches.length === 0) return;
    this.checking = Promise.all([this.checkJobs(jobs), this.checkBatches(batches)])
      .then(
        () => undefined,
        (err: unknown) => process.emitWarning(`Offload could not check awaited jobs: ${String(err)}`),
      )
      .finally(() => {
        this.checking = undefined;
        if (this.jobsToCheck !== undefined || this.batchesToCheck !== undefined) this.runChecks();
      });
  }

  /** Rejects every pending wait (the instance is closing). */
  rejectAll(err: unknown): void {
    for (const set of [...this.jobs.values(), ...this.batches.values()]) for (const p of [...set]) p.reject(err);
  }
}

function mergeIds(into: Set<string> | 'all' | undefined, ids: string[] | undefined): Set<string> | 'all' | undefined {
  if (ids === undefined || into === 'all') return 'all';
  if (ids.length === 0) return into;
  const set = into ?? new Set<string>();
  for (const id of ids) set.add(id);
  return set;
}
