/**
 * Gearman functions are Offload tasks. A function first seen on the Gearman port (a submit, a
 * CAN_DO, `create function`) is registered in the store with default settings, unless a task of
 * that name exists already: then its settings (attempts, backoff, retention…) apply.
 */
import { BuiltInTaskError, GearmanQueueFullError, InvalidTaskError } from '../core/errors.js';
import { checkTaskName, isBuiltInTaskName, resolveTaskSettings, type TaskSettings } from '../core/task.js';
import type { Offload } from '../offload.js';

/** gearmand's `maxqueue` limits per priority; 0 means no limit. */
export interface QueueLimits {
  high: number;
  normal: number;
  low: number;
}

export type GearmanPriority = keyof QueueLimits;

export class GearmanFunctions {
  private readonly registered = new Set<string>();
  private readonly limits = new Map<string, QueueLimits>();
  private readonly admitting = new Map<string, Promise<unknown>>();

  constructor(
    private readonly offload: Offload,
    private readonly defaults: TaskSettings,
  ) {}

  /** A function name as a task name; InvalidTaskError when it cannot be one. */
  nameOf(bytes: Buffer | string): string {
    const name = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    // The port has no authentication: Offload's own tasks (their inputs say where requests go) are never its.
    if (isBuiltInTaskName(name)) throw new BuiltInTaskError(name);
    try {
      return checkTaskName(name);
    } catch {
      throw new InvalidTaskError(
        name,
        'Gearman function names used with Offload are 1–200 characters of letters, digits and _ . : - /, not starting with a punctuation mark',
      );
    }
  }

  /** Registers the function as a task once (per server), keeping an existing task's settings. */
  async ensure(name: string): Promise<void> {
    if (this.registered.has(name)) return;
    await this.offload.store.registerTasks({
      tasks: [{ name, settings: resolveTaskSettings(name, this.defaults) }],
      now: this.offload.clock.now(),
      onlyIfMissing: true,
    });
    this.registered.add(name);
  }

  /** After `drop function`: the next use registers it again. */
  forget(name: string): void {
    this.registered.delete(name);
    this.limits.delete(name);
  }

  setQueueLimits(name: string, limits: QueueLimits): void {
    if (limits.high <= 0 && limits.normal <= 0 && limits.low <= 0) this.limits.delete(name);
    else this.limits.set(name, limits);
  }

  /**
   * Runs `insert` unless the function's `maxqueue` limit for this priority is reached
   * (GearmanQueueFullError). Submits to a limited function are admitted one at a time, so a
   * pipelined burst cannot slip past the count.
   */
  admit<T>(name: string, priority: GearmanPriority, insert: () => Promise<T>): Promise<T> {
    if (!this.limits.has(name)) return insert();
    const previous = this.admitting.get(name) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        await this.checkQueue(name, priority);
        return insert();
      });
    const tail = next.catch(() => undefined);
    this.admitting.set(name, tail);
    void tail.then(() => {
      if (this.admitting.get(name) === tail) this.admitting.delete(name);
    });
    return next;
  }

  private async checkQueue(name: string, priority: GearmanPriority): Promise<void> {
    const limit = this.limits.get(name)?.[priority] ?? 0;
    if (limit <= 0) return;
    const { store } = this.offload;
    const [queued, running] = await Promise.all([
      store.listJobs({ task: name, state: 'queued', limit }),
      store.listJobs({ task: name, state: 'running', limit }),
    ]);
    if (queued.length + running.length >= limit) throw new GearmanQueueFullError(name, limit);
  }
}
