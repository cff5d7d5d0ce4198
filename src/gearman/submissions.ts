/**
 * SUBMIT_* packets become ordinary Offload jobs: durable, retried per the task's policy, listed
 * and counted like any other. The workload's bytes are stored as they came. A (function, unique)
 * pair that a queued or running job holds returns that job's handle instead of a new job.
 *
 * When a worker of the function waits (its GRAB lingering, asleep, or just told NO_JOB) and the
 * function has no concurrency limit or pause, the job is stored already leased to the port and
 * handed to that worker: one write where a queued job costs an insert, a wake-up, a claim and a
 * second write. Nothing else changes for the job (see Assignments and Wakeups.takeWaitingWorker).
 */
import { createHash } from 'node:crypto';
import { newJobWith } from '../client/submission.js';
import { GearmanArgumentTooLargeError } from '../core/errors.js';
import type { Offload } from '../offload.js';
import type { ClaimedJob, InsertedJob, NewJob } from '../store/store.js';
import type { Assignments } from './assignments.js';
import { type GearmanConnection, response } from './connection.js';
import type { GearmanFunctions, GearmanPriority } from './functions.js';
import { handleOf } from './handles.js';
import type { Listeners } from './listeners.js';
import { MAX_UNIQUE_BYTES, PacketType } from './protocol.js';
import type { Reducers } from './reducers.js';
import type { Wakeups } from './wakeups.js';

export interface SubmitRequest {
  fn: Buffer;
  unique: Buffer;
  workload: Buffer;
  priority: GearmanPriority;
  background: boolean;
  /** SUBMIT_JOB_EPOCH: not runnable before this time (epoch seconds). */
  epochSeconds?: number;
  /** SUBMIT_REDUCE_JOB*: handed to the worker by GRAB_JOB_ALL. */
  reducer?: Buffer;
}

export interface SubmissionDeps {
  offload: Offload;
  functions: GearmanFunctions;
  listeners: Listeners;
  reducers: Reducers;
  wakeups: Wakeups;
  assignments: Assignments;
  /** Who holds the leases of jobs handed straight to a worker. */
  claimer: { workerId: string; leaseMs: number };
  handlePrefix: string;
}

/** Gearman's three priorities around the task's own (default 0): high runs first, low last. */
const PRIORITY_OFFSET: Record<GearmanPriority, number> = { high: 1, normal: 0, low: -1 };

export class Submissions {
  constructor(private readonly deps: SubmissionDeps) {}

  /** Stores the job and answers JOB_CREATED; a foreground submitter is attached to it. */
  async submit(conn: GearmanConnection, req: SubmitRequest): Promise<Buffer> {
    // A span of its own when the application traces (Gearman carries no trace context): the job
    // carries it to its run, in whichever process runs it.
    return this.deps.offload.tracing.request(`gearman ${req.background ? 'SUBMIT_JOB_BG' : 'SUBMIT_JOB'}`, undefined, () => this.submitTraced(conn, req));
  }

  private async submitTraced(conn: GearmanConnection, req: SubmitRequest): Promise<Buffer> {
    const { offload, functions, listeners } = this.deps;
    const task = functions.nameOf(req.fn);
    const uniqueKey = uniqueKeyOf(req.unique, req.workload);
    await functions.ensure(task);
    const settings = await offload.registry.settingsFor(task);
    const now = offload.clock.now();
    const job = newJobWith(offload.registry, settings, offload.limits, now, task, req.workload, {
      priority: settings.priority + PRIORITY_OFFSET[req.priority],
      uniqueKey: uniqueKey ?? undefined,
      runAt: req.epochSeconds === undefined ? undefined : Math.max(now, req.epochSeconds * 1000),
      origin: `gearman:${conn.peer}`,
    });
    job.traceContext = offload.tracing.activeTraceparent();
    const inserted = await functions.admit(task, req.priority, () => this.store(job, now, req.reducer));
    offload.tracing.remember([inserted], job.traceContext);
    const handle = handleOf(this.deps.handlePrefix, inserted.id);
    if (req.background) listeners.keep(inserted.id);
    else listeners.attach(conn, inserted.id, handle, !inserted.deduplicated);
    return response(PacketType.JOB_CREATED, [handle]);
  }

  /**
   * Inserts the job: straight to a waiting worker if one can take it now, else queued. A reduce
   * job's reducer is known before any worker can be handed the job (GRAB_JOB_ALL carries it).
   */
  private async store(job: NewJob, now: number, reducer: Buffer | undefined): Promise<InsertedJob> {
    const { wakeups, claimer } = this.deps;
    const commits = this.deps.offload.commits;
    const remember = (inserted: InsertedJob) => {
      if (reducer && !inserted.deduplicated) this.deps.reducers.set(inserted.id, reducer.toString('utf8'));
      return inserted;
    };
    const taker = job.runAt <= now && job.concurrencyKey === null ? wakeups.takeWaitingWorker(job.task) : undefined;
    if (!taker) return remember(await commits.insert(job));
    const leased = { ...job, lease: { workerId: claimer.workerId, leaseExpiresAt: now + claimer.leaseMs } };
    // Woken now, the worker's GRAB is on its way while the job is stored; the GRAB waits for it.
    const storedOrNot = taker.worker.expectHandOff();
    wakeups.handOver(taker);
    let inserted: InsertedJob | undefined;
    try {
      inserted = remember(await commits.insert(leased));
      return inserted;
    } finally {
      if (inserted?.leaseToken === undefined) wakeups.giveBack(taker);
      else this.deps.assignments.reserve(taker, claimedJob(leased, inserted, now));
      storedOrNot();
    }
  }
}

/** What a claim would have returned for a job inserted leased. */
function claimedJob(job: NewJob & Required<Pick<NewJob, 'lease'>>, inserted: InsertedJob, now: number): ClaimedJob {
  return {
    id: inserted.id,
    task: job.task,
    input: job.input,
    attempt: 1,
    maxAttempts: job.maxAttempts,
    priority: job.priority,
    timeoutMs: job.timeoutMs,
    batchId: null,
    createdAt: now,
    leaseToken: inserted.leaseToken!,
    leaseExpiresAt: job.lease.leaseExpiresAt,
    uniqueKey: job.uniqueKey,
  };
}

/**
 * The unique key a submit coalesces on: none for an empty unique; for `-`, the workload itself
 * (by its SHA-256, so any size fits); otherwise the unique's text. At most 64 bytes, as gearmand.
 */
export function uniqueKeyOf(unique: Buffer, workload: Buffer): string | null {
  if (unique.length > MAX_UNIQUE_BYTES) throw new GearmanArgumentTooLargeError('unique', unique.length, MAX_UNIQUE_BYTES);
  if (unique.length === 0) return null;
  if (unique.length === 1 && unique[0] === 0x2d) {
    return workload.length === 0 ? null : `-${createHash('sha256').update(workload).digest('hex')}`;
  }
  return unique.toString('utf8');
}
