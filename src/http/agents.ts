/**
 * HTTP agents show up in GET /v1/workers like any other worker (kind `http`). A claim refreshes
 * the agent's record, at most every `refreshMs` per agent, so a tight claim loop does not turn
 * into a write per request. An agent an operator asked to stop has its claims refused (WORKER_STOPPING).
 */
import { WorkerStoppingError } from '../core/errors.js';
import { resolveTaskSettings } from '../core/task.js';
import type { Offload } from '../offload.js';

/** How long a stopped agent's claims are refused without asking the store: as long as the pruner keeps a silent worker's record. */
const STOP_REMEMBERED_MS = 86_400_000;

export class AgentRegistry {
  private readonly lastWrite = new Map<string, { at: number; tasks: string }>();
  private readonly registered = new Set<string>();
  /** Agents asked to stop, as far as this process knows, and since when. */
  private readonly stopping = new Map<string, number>();

  constructor(
    private readonly offload: Offload,
    private readonly refreshMs = 10_000,
  ) {}

  /**
   * Records the agent's claim; throws WORKER_STOPPING once an operator asked it to stop (known at
   * once when asked through this process, else at the next refresh of its record).
   */
  async seen(a: { workerId: string; host: string; tasks: string[]; concurrency: number }): Promise<void> {
    const now = this.offload.clock.now();
    const stoppedAt = this.stopping.get(a.workerId);
    // Refused claims do not refresh the record: a day later the pruner forgets it, and so does this.
    if (stoppedAt !== undefined && now - stoppedAt < STOP_REMEMBERED_MS) throw new WorkerStoppingError(a.workerId);
    this.stopping.delete(a.workerId);
    const tasks = [...a.tasks].sort().join(',');
    const last = this.lastWrite.get(a.workerId);
    if (last && last.tasks === tasks && now - last.at < this.refreshMs) return;
    if (this.lastWrite.size > 10_000) this.lastWrite.clear();
    this.lastWrite.set(a.workerId, { at: now, tasks });
    // The store keeps the first startedAt of a worker id; later writes only refresh it.
    const startedAt = now;
    const saved = await this.offload.store.upsertWorker({
      worker: { id: a.workerId, kind: 'http', host: a.host, pid: null, tasks: [...a.tasks].sort(), concurrency: a.concurrency, startedAt, lastSeenAt: now },
    });
    if (saved.stopRequested) {
      this.stopRequested(a.workerId);
      throw new WorkerStoppingError(a.workerId);
    }
  }

  /** An operator asked this agent to stop: its claims are refused from now on (for as long as its record is kept). */
  stopRequested(workerId: string): void {
    if (this.stopping.size > 10_000) this.stopping.clear();
    this.stopping.set(workerId, this.offload.clock.now());
  }

  /**
   * Registers the agent's tasks with default settings when no process has, so producers can
   * submit to a task that only agents run. Settings a Node worker wrote are left alone.
   */
  async ensureTasks(tasks: string[]): Promise<void> {
    const missing = tasks.filter((t) => !this.registered.has(t));
    if (missing.length === 0) return;
    await this.offload.store.registerTasks({
      tasks: missing.map((name) => ({ name, settings: resolveTaskSettings(name, {}) })),
      now: this.offload.clock.now(),
      onlyIfMissing: true,
    });
    for (const t of missing) this.registered.add(t);
  }
}
