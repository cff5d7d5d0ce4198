/**
 * The worker's backend in a process that has the store: claims and outcomes are store calls
 * (outcomes and the next claim in one transaction, through the group commit), wake-ups come from
 * the process's runnability signal.
 */
import type { EventBus } from '../core/events.js';
import type { TaskRegistry } from '../core/registry.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { Runnability } from '../store/runnability.js';
import type { Store } from '../store/store.js';
import type { WorkerBackend } from './backend.js';
import type { TouchWriter } from './lease-keeper.js';

/** Touches through the store; a lost lease is looked up to tell a cancellation from a takeover. */
export function storeTouch(store: Store): TouchWriter {
  return async ({ touches, leaseMs, now }) => {
    const { lost } = await store.touchJobs({ touches, leaseExpiresAt: leaseMs === null ? null : now + leaseMs, now });
    if (lost.length === 0) return { lost: [] };
    const rows = await store.getJobs({ ids: lost }).catch(() => []);
    const cancelled = new Set(rows.filter((r) => r.state === 'cancelled').map((r) => r.id));
    return { lost: lost.map((id) => ({ id, cancelled: cancelled.has(id) })) };
  };
}

export function storeBackend(store: Store, bus: EventBus, registry: TaskRegistry, runnability: Runnability, commit: GroupCommit): WorkerBackend {
  return {
    description: store.description,
    wakeups: 'events',
    commit,

    registerTasks: ({ tasks }) => registry.ensureRegistered(tasks.map((t) => t.name)),
    claim: ({ workerId, tasks, max, leaseMs, now }) => store.claimJobs({ workerId, tasks, max, leaseMs, now }),
    touch: storeTouch(store),
    suspendTask: (p) => store.pauseTask(p),
    saveWorker: (p) => store.upsertWorker(p),
    removeWorker: (p) => store.removeWorker(p),

    subscribe(tasks, on) {
      const offs = [
        runnability.subscribe(tasks, (s) => (s.why === 'elsewhere' ? on.outsideChange() : on.runnableAt(s.at))),
        bus.on('job:cancelled', (e) => on.cancelled(e.id)),
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
