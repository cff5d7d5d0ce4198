/**
 * The reducer named by a SUBMIT_REDUCE_JOB*, kept in memory until the job finishes, for
 * GRAB_JOB_ALL's JOB_ASSIGN_ALL. gearmand does not persist it either (a replayed job loses it);
 * the map/reduce work itself happens in libgearman, not in the server.
 */
import type { EventBus } from '../core/events.js';

export class Reducers {
  private readonly byJob = new Map<string, string>();

  /** Forgets a job's reducer when the job finishes, whoever finishes it. Returns the unsubscribe function. */
  follow(bus: EventBus): () => void {
    const forget = (e: { id: string }) => {
      if (this.byJob.size) this.byJob.delete(e.id);
    };
    const offs = [bus.on('job:succeeded', forget), bus.on('job:failed', forget), bus.on('job:cancelled', forget)];
    return () => {
      for (const off of offs) off();
    };
  }

  set(jobId: string, reducer: string): void {
    if (reducer === '') this.byJob.delete(jobId);
    else this.byJob.set(jobId, reducer);
  }

  get(jobId: string): string | undefined {
    return this.byJob.get(jobId);
  }
}
