import type { BatchOutcome } from './batch.js';
import type { JobError, JobProgress, Payload } from './job.js';

/** Events about jobs and batches, seen by everything in one process (waiters, SSE, rules). */
export interface OffloadEvents {
  /**
   * `leasedTo`: inserted already claimed by that worker (handed straight to it), so not claimable.
   * `waiting`: stored waiting for other jobs, not claimable until a later 'job:enqueued' for it
   * (or, when the worker whose outcome released it claimed it in the same write, 'job:started').
   */
  'job:enqueued': { id: string; task: string; runAt: number; leasedTo?: string; waiting?: true };
  /** `createdAt`: when the job was stored (what its wait time is measured from). */
  'job:started': { id: string; task: string; attempt: number; workerId: string; createdAt?: number };
  'job:progress': { id: string; task: string; progress: JobProgress };
  /**
   * `result` as stored: JSON text, raw bytes (Gearman), or null. The events of a job that stops
   * running carry its concurrency key (when known): its slot is free for the next job of that key.
   */
  'job:succeeded': { id: string; task: string; result: Payload | null; concurrencyKey?: string | null; batchId?: string | null };
  /** An attempt failed and the job will run again. */
  'job:retrying': { id: string; task: string; error: JobError; runAt: number; concurrencyKey?: string | null };
  /** The job failed for good. */
  'job:failed': { id: string; task: string; error: JobError; concurrencyKey?: string | null; batchId?: string | null };
  'job:cancelled': { id: string; task: string; concurrencyKey?: string | null; batchId?: string | null };
  /** Released without a counted attempt (retryLater, suspendTask, shutdown). */
  'job:released': { id: string; task: string; runAt: number; concurrencyKey?: string | null };
  'batch:finished': BatchOutcome;
  'task:suspended': { task: string; until: number };
  /** A suspension was ended early (by an operator). */
  'task:resumed': { task: string };
  /** A pushed job's attempt went to an endpoint of its group (this process sent it). */
  'push:sent': { id: string; task: string; group: string; endpoint: string; attempt: number };
  /** An endpoint failed `health.failures` requests in a row: this process sends it nothing until a probe answers. */
  'push:endpoint-out': { group: string; endpoint: string; failures: number };
  /** A probe of an endpoint that was out answered: it takes jobs again. */
  'push:endpoint-in': { group: string; endpoint: string };
  /** Something changed that this process did not do itself (another process, another node). */
  'store:changed': { tasks: string[] | null };
}

export type EventName = keyof OffloadEvents;
export type Listener<K extends EventName> = (event: OffloadEvents[K]) => void;

/** A small typed emitter. Emitting with no listeners costs one map lookup. */
export class EventBus {
  private readonly listeners = new Map<EventName, Set<(event: never) => void>>();

  on<K extends EventName>(name: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as (event: never) => void);
    return () => this.off(name, fn);
  }

  off<K extends EventName>(name: K, fn: Listener<K>): void {
    this.listeners.get(name)?.delete(fn as (event: never) => void);
  }

  has(name: EventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends EventName>(name: K, event: OffloadEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set || set.size === 0) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<K>)(event);
      } catch (err) {
        // A listener's bug must not break the job that triggered the event.
        process.emitWarning(`Offload event listener for "${name}" threw: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }
}

/**
 * Calls `fn` after each event that may make a job of `event.task` claimable at `event.runAt`:
 * enqueued, retried, released. Whatever wakes workers listens to this one list. Returns the
 * unsubscribe function.
 */
export function onJobRunnable(bus: EventBus, fn: (event: { task: string; runAt: number }) => void): () => void {
  const offs = [
    bus.on('job:enqueued', (e) => {
      if (e.leasedTo === undefined && e.waiting === undefined) fn(e);
    }),
    bus.on('job:retrying', fn),
    bus.on('job:released', fn),
  ];
  return () => {
    for (const off of offs) off();
  };
}
