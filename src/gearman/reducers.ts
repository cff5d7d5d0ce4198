/**
 * The reducer named by a SUBMIT_REDUCE_JOB*, kept in memory until the job is handed out, for
 * GRAB_JOB_ALL's JOB_ASSIGN_ALL. gearmand does not persist it either (a replayed job loses it);
 * the map/reduce work itself happens in libgearman, not in the server.
 */
export class Reducers {
  private readonly byJob = new Map<string, string>();

  set(jobId: string, reducer: string): void {
    if (reducer === '') this.byJob.delete(jobId);
    else this.byJob.set(jobId, reducer);
  }

  get(jobId: string): string | undefined {
    return this.byJob.get(jobId);
  }

  forget(jobId: string): void {
    this.byJob.delete(jobId);
  }
}
