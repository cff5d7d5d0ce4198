import type { Logger } from '../core/logger.js';
import type { TaskDefinition } from '../core/task.js';
import { Offload } from '../offload.js';
import type { Worker } from '../worker/worker.js';

export interface ServerOptions {
  store: string;
  tasks: TaskDefinition<any, any>[];
  /** Jobs run at once by the in-process worker (default 10); 0 runs no worker. */
  concurrency?: number;
  shutdownTimeoutMs?: number;
  logger?: Logger;
}

export interface RunningServer {
  offload: Offload;
  worker: Worker | undefined;
  /** Stops everything gracefully: workers finish or release their jobs, then the store closes. */
  close(): Promise<void>;
}

/**
 * The composition root of `offload start`: opens the store, starts the worker for the loaded
 * tasks and the maintenance services. (The HTTP API, the Gearman port and the dashboard plug
 * in here as they are built.)
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const offload = await Offload.open({ store: opts.store, tasks: opts.tasks, logger: opts.logger });
  try {
    await offload.startMaintenance();
    const concurrency = opts.concurrency ?? 10;
    const worker = opts.tasks.length > 0 && concurrency > 0
      ? await offload.work({ concurrency, shutdownTimeoutMs: opts.shutdownTimeoutMs })
      : undefined;
    return { offload, worker, close: () => offload.close() };
  } catch (err) {
    await offload.close();
    throw err;
  }
}
