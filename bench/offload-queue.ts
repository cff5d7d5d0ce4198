/** Offload as a BenchQueue: the store URL decides the backend (SQLite file or PostgreSQL schema). */

import { silentLogger } from '../src/core/logger.js';
import { defineTask, type FlowSteps, Offload, type TaskSettings } from '../src/index.js';
import type { Store } from '../src/store/store.js';
import type { BenchInput, BenchQueue } from './workloads.js';

/** Offload's queue, with what the dependency workload needs: a flow of the bench task, and the store's time per call. */
export interface OffloadBenchQueue extends BenchQueue {
  /** Submits a flow whose steps name the bench task by `task: BENCH_TASK`. */
  flow(steps: FlowSteps): Promise<void>;
  /** Calls and milliseconds per store method since the queue opened. */
  storeStats(): Record<string, { calls: number; totalMs: number }>;
  /** The store itself, for workloads that time its calls one by one. */
  readonly store: Store;
}

export const BENCH_TASK = 'bench.noop';

/** What the flow-control workloads add to the plain queue: settings of the task (a rate limit), schedules defined alongside. */
export interface OffloadQueueOptions {
  settings?: TaskSettings;
  /** Schedules of another task, none due during the run, defined before the workload; the scheduler runs. */
  schedules?: number;
}

export async function offloadQueue(url: string, dispose: () => Promise<void>, opts: OffloadQueueOptions = {}): Promise<OffloadBenchQueue> {
  let handler: (input: BenchInput) => void = () => undefined;
  const noop = defineTask(
    BENCH_TASK,
    async (input: BenchInput) => {
      handler(input);
      return null;
    },
    { maxAttempts: 1, retention: 3_600_000, ...opts.settings },
  );
  const nightly = defineTask('bench.nightly', async () => null);
  const offload = await Offload.open({ store: url, tasks: [noop, nightly], logger: silentLogger });
  for (let i = 0; i < (opts.schedules ?? 0); i++) await offload.schedule(`bench-${i}`, { task: nightly, cron: `${i % 60} 3 * * *` });
  let succeeded = 0;
  const watchers: { total: number; resolve: () => void }[] = [];
  offload.on('job:succeeded', () => {
    succeeded++;
    for (const w of watchers.filter((w) => succeeded >= w.total)) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    enqueue: async (input) => {
      await offload.enqueue(noop, input);
    },
    enqueueMany: async (inputs) => {
      await offload.enqueueMany(inputs.map((input) => ({ task: noop, input })));
    },
    flow: async (steps) => {
      await offload.flow({ steps });
    },
    store: offload.store,
    storeStats: () => Object.fromEntries((offload.store as unknown as { stats: Map<string, { calls: number; totalMs: number }> }).stats),
    async work(concurrency, h) {
      handler = h;
      await offload.work({ concurrency, tasks: [noop], maintenance: opts.schedules !== undefined });
    },
    recorded: (total) => (succeeded >= total ? Promise.resolve() : new Promise((resolve) => watchers.push({ total, resolve }))),
    async close() {
      await offload.close();
      await dispose();
    },
  };
}
