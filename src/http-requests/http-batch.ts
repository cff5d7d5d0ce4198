/**
 * `offload.http.batch(requests, { limit, onEach, onFinish })`: many HTTP requests, at most `limit`
 * at once across every worker on the store, with a callback job per response and one at the end.
 *
 * Everything is jobs, stored in one transaction as one batch, so a restart loses nothing:
 *
 * - a job of the built-in task `offload.http.request` per request, which sends it and returns
 *   the response;
 * - with `onEach`, a job of the caller's task per request, waiting for that request's job (policy
 *   `run`: it runs whether the request succeeded or failed for good), so it exists exactly once;
 * - with `onFinish`, the batch's finish job, enqueued by the store once every job above has ended.
 *
 * The limit is the concurrency-key machinery the store already enforces for every worker: the
 * requests are dealt round-robin into `limit` lanes, each lane a concurrency key of its own, and
 * the task runs one job per key at a time. A lane's next request starts when its previous one has
 * ended (or is waiting for a retry), so at most `limit` run at once, whichever workers run them.
 */
import { randomUUID } from 'node:crypto';
import type { HandleHost } from '../client/handles.js';
import { replayedIds, type SubmitOptions, submitKeyOf } from '../client/idempotency.js';
import { buildNewJob, type EnqueueOptions, newJobWith, type SubmissionLimits } from '../client/submission.js';
import type { Clock } from '../core/clock.js';
import { InputTooLargeError, InvalidHttpRequestError, InvalidOptionError } from '../core/errors.js';
import type { TaskRegistry } from '../core/registry.js';
import type { TaskDefinition } from '../core/task.js';
import type { NewJob, Store } from '../store/store.js';
import { type HttpCallbackInput, REQUEST_DEPENDENCY } from './callback.js';
import { HttpBatchHandle } from './handle.js';
import { type RequestPolicy, resolvePolicy } from './policy.js';
import { HTTP_REQUEST_TASK, type RequestJobInput } from './request-task.js';
import { checkRequests, type HttpRequest, type StoredRequest } from './requests.js';

type TaskRef = TaskDefinition<any, any> | string;

export interface HttpBatchOptions extends Partial<RequestPolicy>, SubmitOptions {
  /** Most requests of this call in flight at once, across every worker on the store (default 5, at most 100). */
  limit?: number;
  /** A job of this task per request, once it has its response or has failed for good; see `onHttpResponse`. */
  onEach?: TaskRef | { task: TaskRef; input?: unknown; options?: Pick<EnqueueOptions, 'priority' | 'maxAttempts' | 'timeoutMs'> };
  /** A job enqueued once, when every request and callback has ended; its input is `{ batch, input }`. */
  onFinish?: { task: TaskRef; input?: unknown; options?: EnqueueOptions };
  /** Attempts per request: a 5xx, a failed connection or a timeout is tried again until they are spent (default 3, at most 10). */
  attempts?: number;
  title?: string;
}

/** What the facade needs of its Offload. */
export interface HttpBatchHost {
  readonly store: Store;
  readonly registry: TaskRegistry;
  readonly limits: SubmissionLimits;
  readonly clock: Clock;
  /** How long an idempotency key returns its submission's jobs. */
  readonly idempotencyWindowMs: number;
  /** The Offload itself, for the handles it returns. */
  readonly handles: HandleHost;
  /** Throws CLOSED once the Offload is closing. */
  checkOpen(): void;
}

export const DEFAULT_LIMIT = 5;
export const MAX_LIMIT = 100;
const MAX_ATTEMPTS = 10;

/** `offload.http`: HTTP requests as durable jobs. */
export class HttpRequests {
  constructor(private readonly host: HttpBatchHost) {}

  /**
   * Sends the requests, at most `limit` at once, as one batch of jobs; resolves once it is stored.
   * A request that is in flight when its worker dies is sent again (at least once); its callback
   * job runs once it has an outcome (exactly one per request).
   *
   * @example
   * const batch = await offload.http.batch(urls.map((url) => ({ url })), { limit: 5, onEach: savePage, onFinish: { task: report } });
   * console.log(await batch.result());
   */
  async batch(requests: HttpRequest[], options: HttpBatchOptions = {}): Promise<HttpBatchHandle> {
    this.host.checkOpen();
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'must be an object');
    const stored = checkRequests(requests);
    const limit = checkLimit(options.limit);
    const attempts = checkAttempts(options.attempts);
    const policy = resolvePolicy(options);
    const now = this.host.clock.now();
    const jobs = await this.buildJobs(stored, { limit, attempts, policy, onEach: options.onEach }, now);
    const onFinish = await this.onFinishJob(options.onFinish, now);
    const title = checkTitle(options.title);
    // The fingerprint is what was asked for, not the lanes' keys: those are new on every call.
    const asked = ['http.batch', stored, limit, attempts, policy, onEachOf(options.onEach) ?? null, options.onFinish ?? null, title];
    const submitKey = submitKeyOf(options.idempotencyKey, null, asked, now, this.host.idempotencyWindowMs);
    const r = await this.host.store.insertJobs({ jobs, batch: { title, onFinish }, now, submitKey });
    if (!r.replayed) return new HttpBatchHandle(this.host.handles, r.batchId!, r.jobs, options.onEach !== undefined);
    const ids = replayedIds(options.idempotencyKey!, submitKey!, r.replayed);
    const rows = new Map((await this.host.store.getJobs({ ids })).map((row) => [row.id, row]));
    const replayed = ids.map((id) => ({ id, task: rows.get(id)?.task ?? '', deduplicated: false, state: rows.get(id)?.state ?? 'queued', runAt: now }));
    return new HttpBatchHandle(this.host.handles, r.replayed.batchId!, replayed, options.onEach !== undefined, true);
  }

  /** The request jobs, each followed by its callback job (which waits for it) when there is onEach. */
  private async buildJobs(
    requests: StoredRequest[],
    call: { limit: number; attempts: number; policy: RequestPolicy; onEach: HttpBatchOptions['onEach'] },
    now: number,
  ): Promise<NewJob[]> {
    const { registry, limits } = this.host;
    const requestSettings = await registry.settingsFor(HTTP_REQUEST_TASK);
    const onEach = onEachOf(call.onEach);
    const eachSettings = onEach && (await registry.settingsFor(onEach.task));
    // Lanes are this call's own: no other call, and no restart, shares its keys.
    const lanes = `offload.http:${randomUUID()}`;
    const jobs: NewJob[] = [];
    requests.forEach((request, index) => {
      const input: RequestJobInput = { index, request, policy: call.policy };
      const options = { concurrencyKey: `${lanes}:${index % call.limit}`, maxAttempts: call.attempts };
      jobs.push(asRequestJob(index, () => newJobWith(registry, requestSettings, limits, now, HTTP_REQUEST_TASK, input, options)));
      if (!onEach || !eachSettings) return;
      const callbackInput: HttpCallbackInput = { index, request: { method: request.method, url: request.url }, input: onEach.input ?? null };
      const callback = newJobWith(registry, eachSettings, limits, now, onEach.task, callbackInput, onEach.options ?? {});
      callback.after = [{ on: { index: jobs.length - 1 }, name: REQUEST_DEPENDENCY, policy: 'run' }];
      jobs.push(callback);
    });
    return jobs;
  }

  /** The batch's finish job (its input must be JSON: the store wraps it in `{ batch, input }`). */
  private async onFinishJob(onFinish: HttpBatchOptions['onFinish'], now: number): Promise<NewJob | null> {
    if (onFinish === undefined) return null;
    if (typeof onFinish !== 'object' || onFinish === null) throw new InvalidOptionError('onFinish', 'must be { task, input?, options? }');
    const job = await buildNewJob(this.host.registry, this.host.limits, now, nameOf(onFinish.task), onFinish.input ?? null, onFinish.options);
    if (typeof job.input !== 'string') throw new InvalidOptionError('onFinish.input', 'must be a JSON value');
    return job;
  }
}

/** A request too large for a job is the request's fault: say which one. */
function asRequestJob(index: number, build: () => NewJob): NewJob {
  try {
    return build();
  } catch (err) {
    if (err instanceof InputTooLargeError)
      throw new InvalidHttpRequestError(
        index,
        `with its headers and body it is ${err.details?.bytes} bytes as a job input, over the limit of ${err.details?.limit} (maxInputBytes)`,
      );
    throw err;
  }
}

function onEachOf(onEach: HttpBatchOptions['onEach']): { task: string; input?: unknown; options?: EnqueueOptions } | undefined {
  if (onEach === undefined) return undefined;
  if (typeof onEach === 'string' || isDefinition(onEach)) return { task: nameOf(onEach) };
  if (typeof onEach !== 'object' || onEach === null)
    throw new InvalidOptionError('onEach', 'must be a task (a name or a definition) or { task, input?, options? }');
  const task = nameOf(onEach.task);
  if (task === '') throw new InvalidOptionError('onEach.task', 'a task name or definition is required');
  return { task, input: onEach.input, options: onEach.options };
}

function isDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'object' && value !== null && typeof (value as TaskDefinition).handler === 'function';
}

function nameOf(task: TaskRef | undefined): string {
  if (typeof task === 'string') return task;
  return typeof task?.name === 'string' ? task.name : '';
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT)
    throw new InvalidOptionError('limit', `must be an integer from 1 to ${MAX_LIMIT} (requests at once), got ${String(limit)}`);
  return limit as number;
}

function checkAttempts(attempts: unknown): number {
  if (attempts === undefined) return 3;
  if (!Number.isSafeInteger(attempts) || (attempts as number) < 1 || (attempts as number) > MAX_ATTEMPTS)
    throw new InvalidOptionError('attempts', `must be an integer from 1 to ${MAX_ATTEMPTS}, got ${String(attempts)}`);
  return attempts as number;
}

function checkTitle(title: unknown): string | null {
  if (title === undefined || title === null) return null;
  if (typeof title !== 'string' || title.length > 500) throw new InvalidOptionError('title', 'must be a string of at most 500 characters');
  return title;
}
