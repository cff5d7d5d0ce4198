/**
 * A worker on a machine that reaches Offload only over HTTP: the same Worker (slots, heartbeats,
 * timeouts, outcomes, graceful shutdown) on the remote backend. What `offload worker MODULE
 * --connect URL` runs.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { defaultLogger, type Logger } from '../core/logger.js';
import type { TaskDefinition } from '../core/task.js';
import { JobTracing } from '../observability/tracing.js';
import type { ClaimedJob } from '../store/store.js';
import { TaskCatalog } from '../worker/task-catalog.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { ApiClient } from './api-client.js';
import { RemoteBackend } from './remote-backend.js';

export interface RemoteWorkerOptions extends Omit<WorkerOptions, 'tasks'> {
  /** The server, as `offload start` prints it: `http://HOST:PORT`. */
  url: string;
  /** An API token with scope `work` whose task patterns cover the tasks (optional on a loopback server). */
  token?: string;
  /** The tasks this worker runs. */
  tasks: TaskDefinition<any, any>[];
  /** How long each claim waits on the server for work (default 20 000 ms). */
  longPollMs?: number;
  /** A request without an answer after this long is given up and retried (default 30 000 ms, plus the long-poll's wait). */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * A worker that claims jobs from an Offload server over HTTP, not started yet (see
 * `startRemoteWorker`). On start it declares its tasks' settings on the server
 * (PUT /v1/tasks/:task); if the server cannot be reached yet, it keeps trying with backoff.
 */
export function remoteWorker(opts: RemoteWorkerOptions): Worker {
  if (!Array.isArray(opts.tasks) || opts.tasks.length === 0) throw new InvalidOptionError('tasks', 'give the task definitions this worker runs');
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? defaultLogger();
  const api = new ApiClient({ url: opts.url, token: opts.token, requestTimeoutMs: opts.requestTimeoutMs });
  const backend = new RemoteBackend(api, clock, logger, { longPollMs: opts.longPollMs });
  const { url: _u, token: _t, tasks, longPollMs: _l, requestTimeoutMs: _r, clock: _c, logger: _g, ...workerOptions } = opts;
  // Each run is a span when the application traces, a child of the submit's context the server sends with the claim.
  const tracing = new JobTracing();
  const runHandler = (job: ClaimedJob, call: () => unknown) => tracing.run(job, call, async () => null);
  return new Worker({ backend, clock, logger, registry: new TaskCatalog(tasks), runHandler }, { ...workerOptions, tasks });
}

/**
 * Starts a worker that claims jobs from an Offload server over HTTP. Stop it with
 * `worker.stop()`: running jobs may finish until the shutdown timeout, the rest are released.
 *
 * @example
 * const worker = await startRemoteWorker({ url: 'http://jobs.internal:7070', token: process.env.OFFLOAD_TOKEN, tasks: [resize], concurrency: 4 });
 * process.on('SIGTERM', () => void worker.stop());
 */
export async function startRemoteWorker(opts: RemoteWorkerOptions): Promise<Worker> {
  const worker = remoteWorker(opts);
  await worker.start();
  return worker;
}
