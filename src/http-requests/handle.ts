import { BatchHandle, type HandleHost, JobHandle } from '../client/handles.js';
import type { WaitOptions } from '../client/waiters.js';
import { InvalidOptionError } from '../core/errors.js';
import type { InsertedJob } from '../store/store.js';
import type { HttpResponse } from './request-task.js';

/**
 * A call of `offload.http.batch()`: a batch (live counts, `wait()`, `result()`) whose jobs are the
 * requests and, with onEach, their callbacks. Its counts are of both: 1,000 requests with onEach
 * are a batch of 2,000 jobs.
 */
export class HttpBatchHandle extends BatchHandle {
  /** The request jobs, in the order the requests were given. */
  readonly requests: JobHandle<unknown, HttpResponse>[];
  /** The onEach jobs, one per request in the same order (empty without onEach). */
  readonly callbacks: JobHandle[];

  constructor(host: HandleHost, id: string, inserted: InsertedJob[], withCallbacks: boolean, replayed = false) {
    const jobs = inserted.map((j) => new JobHandle(host, j.id, j.task, j.deduplicated, j.state, replayed));
    super(host, id, jobs, replayed);
    const step = withCallbacks ? 2 : 1;
    this.requests = jobs.filter((_, i) => i % step === 0) as JobHandle<unknown, HttpResponse>[];
    this.callbacks = withCallbacks ? jobs.filter((_, i) => i % 2 === 1) : [];
  }

  /** Waits for request `index` and resolves with its response; rejects with JOB_FAILED when it failed for good. */
  async response(index: number, opts?: WaitOptions): Promise<HttpResponse> {
    const job = this.requests[index];
    if (!job)
      throw new InvalidOptionError('index', `this batch has ${this.requests.length} requests (0 to ${this.requests.length - 1}); there is no request ${index}`);
    return job.result(opts);
  }
}
