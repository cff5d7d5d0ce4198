/**
 * The worker's backend in a process that has the store: claims and results are store calls
 * (results and the next claim in one transaction), wake-ups are this process's events and the
 * store's change feed.
 */
import { type EventBus, onJobRunnable } from '../core/events.js';
import type { TaskRegistry } from '../core/registry.js';
import type { Store } from '../store/store.js';
import type { FinishStatus, WorkerBackend } from './backend.js';

export function storeBackend(store: Store, bus: EventBus, registry: TaskRegistry): WorkerBackend {
  return {
    description: store.description,
    wakeups: 'events',

    registerTasks: ({ tasks }) => registry.ensureRegistered(tasks.map((t) => t.name)),

    claim: ({ workerId, tasks, max, leaseMs, now }) => store.claimJobs({ workerId, tasks, max, leaseMs, now }),

    async finish(p) {
      const r = await store.finishJobs(p);
      return { statuses: r.results.map((x): FinishStatus => (x.ok ? 'recorded' : 'lost')), claimed: r.claimed };
    },

    async touch({ touches, leaseMs, now }) {
      const { lost } = await store.touchJobs({ touches, leaseExpiresAt: leaseMs === null ? null : now + leaseMs, now });
      if (lost.length === 0) return { lost: [] };
      const rows = await store.getJobs({ ids: lost }).catch(() => []);
      const cancelled = new Set(rows.filter((r) => r.state === 'cancelled').map((r) => r.id));
      return { lost: lost.map((id) => ({ id, cancelled: cancelled.has(id) })) };
    },

    suspendTask: (p) => store.pauseTask(p),
    saveWorker: (p) => store.upsertWorker(p),
    removeWorker: (p) => store.removeWorker(p),

    subscribe(tasks, on) {
      const mine = new Set(tasks);
      const runnable = (e: { task: string; runAt: number }) => {
        if (mine.has(e.task)) on.runnableAt(e.runAt);
      };
      const offs = [
        onJobRunnable(bus, runnable),
        bus.on('task:suspended', (e) => {
          if (mine.has(e.task)) on.runnableAt(e.until);
        }),
        bus.on('job:cancelled', (e) => on.cancelled(e.id)),
        store.watch((change) => {
          if (change.tasks === null || change.tasks.some((t) => mine.has(t))) on.outsideChange();
        }),
      ];
      return () => {
        for (const off of offs) off();
      };
    },

    nextRunAt: (p) => store.nextRunAt(p),
    // A local store that fails is not waited for at start: the caller sees the error.
    isTransient: () => false,
  };
}
