/**
 * Bulk actions (POST /v1/jobs/bulk): retry, cancel or delete many jobs, named by ids or by a
 * filter. A filter is walked in pages of CHUNK jobs, newest first by id, each page acted on in
 * its own short writes: one request never holds a transaction over more than a page, and jobs
 * submitted meanwhile (higher ids) are not reached. Each job gets the single-job route's rules
 * (core/job-rules.ts); delete takes finished jobs only.
 */
import { isOffloadError, JobNotFoundError } from '../core/errors.js';
import { isFinished, type Job, toJob } from '../core/job.js';
import { cancelRefusal, retryRefusal } from '../core/job-rules.js';
import type { ListJobsOptions, Offload } from '../offload.js';

export type BulkAction = 'retry' | 'cancel' | 'delete';

export interface BulkOutcome {
  matched: number;
  changed: number;
  skipped: number;
  /** Skipped jobs by error code. */
  reasons: Record<string, number>;
  /** The ids changed (for the audit log). */
  changedIds: string[];
}

/** Jobs per page of a filter, and per delete statement. */
const CHUNK = 500;
/** Retries or cancels in flight at once. */
const LANES = 8;
/** Why a delete skipped a job: not finished, or a job still to run waits for it. */
export const NOT_FINISHED = 'NOT_FINISHED';

export class BulkRun {
  private readonly out: BulkOutcome = { matched: 0, changed: 0, skipped: 0, reasons: {}, changedIds: [] };

  constructor(
    private readonly offload: Offload,
    private readonly action: BulkAction,
  ) {}

  /**
   * Acts on jobs by id (at most 1000): those that do not exist are skipped (JOB_NOT_FOUND). Every
   * job is checked with `allowed` before any is acted on, so a refusal leaves them all as they were.
   */
  async byIds(ids: string[], allowed: (task: string) => void): Promise<BulkOutcome> {
    const unique = [...new Set(ids)];
    const rows = await this.offload.store.getJobs({ ids: unique });
    for (const r of rows) allowed(r.task);
    this.out.matched += unique.length - rows.length;
    this.skip(JobNotFoundError.code, unique.length - rows.length);
    const jobs = rows.map((r) => toJob(r));
    for (let i = 0; i < jobs.length; i += CHUNK) await this.apply(jobs.slice(i, i + CHUNK));
    return this.result();
  }

  /** Acts on every job the filter matches, a page at a time. */
  async byFilter(filter: Omit<ListJobsOptions, 'limit' | 'cursor'>): Promise<BulkOutcome> {
    let cursor: string | undefined;
    do {
      const page = await this.offload.listJobs({ ...filter, limit: CHUNK, cursor });
      await this.apply(page.jobs);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return this.result();
  }

  private async apply(jobs: Job[]): Promise<void> {
    this.out.matched += jobs.length;
    if (this.action === 'delete') return this.delete(jobs);
    const acted = jobs.filter((job) => {
      const refusal = this.action === 'retry' ? retryRefusal(job.id, job.state) : job.state === 'cancelled' ? true : cancelRefusal(job.id, job.state);
      if (refusal) this.skip('INVALID_STATE');
      return !refusal;
    });
    // A few at once: on PostgreSQL each is a round trip or more. Those that met another's locks
    // (a deadlock between jobs of one flow, a lost connection) are done again one at a time.
    const again: Job[] = [];
    let next = 0;
    const lane = async () => {
      while (next < acted.length) {
        const job = acted[next++]!;
        if ((await this.act(job)) === 'again') again.push(job);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, acted.length) }, lane));
    for (const job of again) if ((await this.act(job)) === 'again') await this.act(job, true);
  }

  /** One job by its single-job route's rules; 'again' when the store failed for a reason of its own. */
  private async act(job: Job, last = false): Promise<'again' | undefined> {
    try {
      if (this.action === 'retry') await this.offload.retry(job.id);
      else {
        // Through the store, which says what the job was: one a cancelled job it waited for ended meanwhile is no change.
        const r = await this.offload.store.cancelJob({ id: job.id, now: this.offload.clock.now() });
        if (r.previous === 'cancelled') return void this.skip('INVALID_STATE');
      }
      this.changed(job.id);
    } catch (err) {
      // The job moved on since it was read (finished, retried, deleted): the rules refuse it now.
      if (isOffloadError(err) && err.httpStatus < 500) this.skip(err.code);
      else if (last) throw err;
      else return 'again';
    }
    return undefined;
  }

  private async delete(jobs: Job[]): Promise<void> {
    const finished = jobs.filter((j) => isFinished(j.state));
    this.skip(NOT_FINISHED, jobs.length - finished.length);
    if (finished.length === 0) return;
    const r = await this.offload.store.deleteJobs({ ids: finished.map((j) => j.id) });
    for (const id of r.deleted) this.changed(id);
    this.skip(NOT_FINISHED, r.notFinished.length);
    this.skip(JobNotFoundError.code, r.missing.length);
  }

  private changed(id: string): void {
    this.out.changed++;
    this.out.changedIds.push(id);
  }

  private skip(code: string, n = 1): void {
    if (n <= 0) return;
    this.out.skipped += n;
    this.out.reasons[code] = (this.out.reasons[code] ?? 0) + n;
  }

  private result(): BulkOutcome {
    return this.out;
  }
}
