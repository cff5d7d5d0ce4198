/**
 * What a Worker needs from wherever its jobs live, and nothing more: claim jobs, record their
 * outcomes (through a commit target, group-committed), keep their leases, suspend a task, keep
 * the worker's record. Two implementations: the store in this process (`store-backend.ts`) and
 * an Offload server over HTTP (`src/remote/`). The worker's semantics (slots, heartbeats,
 * timeouts, outcomes, shutdown) live in the worker, once, whichever backend it runs on.
 */
import type { TaskDefinition } from '../core/task.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob, ClaimParams, WorkerRecord } from '../store/store.js';
import type { TouchWriter } from './lease-keeper.js';

/** Things that may make jobs of the worker's tasks runnable (for backends whose wake-ups are events). */
export interface WakeUpHandlers {
  /** A job of one of the tasks may be claimable at `at` (now or later). */
  runnableAt(at: number): void;
  /** A job was cancelled; if this worker runs it, its handler must be told. */
  cancelled(id: string): void;
  /** Another process changed the jobs of these tasks: maybe new work. */
  outsideChange(): void;
}

export interface WorkerBackend {
  /** Where the jobs live, for logs (no secrets). */
  readonly description: string;
  /**
   * How the worker learns that work became runnable.
   * - `events`: a claim answers at once; `subscribe`, `nextRunAt` and a slow poll say when to claim again.
   * - `long-poll`: a claim with `wait` is held by the backend until work is runnable (or a while
   *   passes), so the worker keeps one claim outstanding whenever it has free slots.
   */
  readonly wakeups: 'events' | 'long-poll';
  /** Writes outcomes, and the claims that ride with them, group-committed (shared by every way in on a local store). */
  readonly commit: GroupCommit;

  /** Makes the tasks' settings known where jobs are submitted; called before the first claim. */
  registerTasks(p: { tasks: TaskDefinition<any, any>[] }): Promise<void>;
  /** Claims up to `max` jobs; with `wait` (long-poll backends) holds until one is runnable or `signal` aborts. */
  claim(p: ClaimParams & { wait?: boolean; signal?: AbortSignal }): Promise<ClaimedJob[]>;
  /** Records progress and, when `leaseMs` is set, extends leases by that much; says which leases were lost. */
  touch: TouchWriter;
  /** No job of the task is claimed until `until`. */
  suspendTask(p: { task: string; until: number }): Promise<void>;
  /** Refreshes the worker's record; `stopRequested` when an operator asked it to stop (a backend that cannot tell says nothing). */
  saveWorker(p: { worker: WorkerRecord }): Promise<{ stopRequested: boolean } | undefined>;
  removeWorker(p: { id: string }): Promise<void>;
  /** Calls the handlers on wake-ups for these tasks (events backends); returns the unsubscribe function. */
  subscribe(tasks: string[], on: WakeUpHandlers): () => void;
  /** The earliest run time of a queued job of these tasks (events backends; null when none or unknown). */
  nextRunAt(p: { tasks: string[] }): Promise<number | null>;
  /** Whether an error means "unreachable for now, try again" rather than "refused". */
  isTransient(err: unknown): boolean;
}
