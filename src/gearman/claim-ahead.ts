/**
 * Jobs claimed ahead for the functions whose workers drain a backlog. A GRAB that finds one here
 * is answered at once, with no claim of its own and no wait for a commit; the jobs come in
 * batches, claimed through the group commit (in the transaction of the turn's outcomes), and are
 * held under the port's leases until a GRAB takes them, in a ClaimedAhead per function (the
 * worker's own, worker/claimed-ahead.ts).
 *
 * How many are claimed ahead follows how fast a function's GRABs come: as many as arrived in the
 * busiest 10 ms of the last 30 (ClaimedAhead's estimate), at most MAX_AHEAD. A function grabbed
 * now and then has none ahead (each GRAB claims for itself, as before). Held jobs go back to the
 * queue, the attempt not counted, when no connection that grabbed for the function is left, when
 * nobody came for them within HOLD_MS, and at stop; a job cancelled meanwhile, or whose lease is
 * lost, is dropped.
 */
import { Alarm, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { ClaimedJob } from '../store/store.js';
import { ClaimedAhead, HOLD_MS } from '../worker/claimed-ahead.js';
import type { LeaseKeeper } from '../worker/lease-keeper.js';

/** At most this many jobs of one function are held ahead. */
const MAX_AHEAD = 200;

export interface ClaimAheadDeps {
  commits: GroupCommit;
  leases: LeaseKeeper;
  clock: Clock;
  logger: Logger;
  workerId: string;
  leaseMs: number;
  /** Whether jobs of `task` may be claimed ahead: it may have runnable jobs, and no concurrency limit or pause. */
  mayClaim(task: string): boolean;
  /** Taken before a claim, for `foundNone`. */
  since(): number;
  /** A claim for `task`, started at `since`, found nothing. */
  foundNone(task: string, since: number): void;
  /** Jobs of `task` arrived here: wake up to `count` workers waiting for it. */
  arrived(task: string, count: number): void;
  /** Puts a held job back in the queue, the attempt not counted. */
  release(job: ClaimedJob): Promise<void>;
}

interface FunctionAhead {
  held: ClaimedAhead;
  /** Asked for and not yet arrived. */
  coming: number;
  /** The connections that grabbed for it. */
  consumers: Set<object>;
}

export class ClaimAhead {
  private readonly byTask = new Map<string, FunctionAhead>();
  private readonly byId = new Map<string, string>();
  private readonly expiry: Alarm;
  private stopped = false;

  constructor(private readonly deps: ClaimAheadDeps) {
    this.expiry = new Alarm(deps.clock, () => this.releaseStale());
  }

  /** Jobs held ahead, all functions. */
  get size(): number {
    return this.byId.size;
  }

  /** Jobs of `task` held here. */
  heldFor(task: string): number {
    return this.byTask.get(task)?.held.size ?? 0;
  }

  /** Whether `id` is held here (claimed, not handed to a worker yet). */
  holds(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * A GRAB from `consumer` for `tasks`: a held job of the first of them that has one, or none.
   * Counts the demand and tops up what is held for each of them.
   */
  take(consumer: object, tasks: Iterable<string>): ClaimedJob | undefined {
    if (this.stopped) return undefined;
    const now = this.deps.clock.now();
    let found: ClaimedJob | undefined;
    for (const task of tasks) {
      const f = this.functionAhead(task);
      f.consumers.add(consumer);
      f.held.started(now);
      if (!found) found = this.handOut(f);
      this.topUp(task, f, now);
    }
    return found;
  }

  /** `consumer` no longer grabs for `tasks` (it dropped them, or closed): a function nobody grabs for gives back what it holds. */
  forget(consumer: object, tasks: Iterable<string>): void {
    for (const task of tasks) {
      const f = this.byTask.get(task);
      if (!f?.consumers.delete(consumer) || f.consumers.size > 0) continue;
      this.releaseAll(f);
      this.byTask.delete(task);
    }
  }

  /** The job was cancelled or its lease lost: no longer held. */
  drop(id: string): void {
    const task = this.byId.get(id);
    if (task === undefined) return;
    this.byId.delete(id);
    this.deps.leases.release(id);
    const f = this.byTask.get(task);
    if (!f) return;
    f.held.drop(id);
  }

  /** Gives back everything held (resolves once it is back in the queue); claims arriving later are given back as they come. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.expiry.cancel();
    await Promise.all([...this.byTask.values()].flatMap((f) => this.releaseAll(f)));
  }

  private functionAhead(task: string): FunctionAhead {
    let f = this.byTask.get(task);
    if (!f) {
      f = { held: new ClaimedAhead(MAX_AHEAD), coming: 0, consumers: new Set() };
      this.byTask.set(task, f);
    }
    return f;
  }

  private handOut(f: FunctionAhead): ClaimedJob | undefined {
    const job = f.held.take();
    if (job) this.byId.delete(job.id);
    return job;
  }

  /**
   * Claims more when what is held and coming covers less than half the expected demand. The claim
   * is made after the GRAB's own (a microtask later), so the GRAB gets the first job in the queue.
   */
  private topUp(task: string, f: FunctionAhead, now: number): void {
    const want = f.held.expected(now);
    const have = f.held.size + f.coming;
    if (want === 0 || have * 2 > want || !this.deps.mayClaim(task)) return;
    const max = want - have;
    const since = this.deps.since();
    f.coming += max;
    queueMicrotask(() => this.claimAhead(task, f, max, since));
  }

  private claimAhead(task: string, f: FunctionAhead, max: number, since: number): void {
    this.deps.commits.claim({ workerId: this.deps.workerId, tasks: [task], max, leaseMs: this.deps.leaseMs }).then(
      (jobs) => this.arrived(task, f, max, since, jobs),
      (err: unknown) => {
        f.coming -= max;
        this.deps.logger.warn({ err, task }, 'gearman: could not claim jobs ahead; grabs claim for themselves');
      },
    );
  }

  private arrived(task: string, f: FunctionAhead, asked: number, since: number, jobs: ClaimedJob[]): void {
    f.coming -= asked;
    if (jobs.length === 0) return this.deps.foundNone(task, since);
    if (this.stopped || this.byTask.get(task) !== f) {
      for (const job of jobs) void this.deps.release(job);
      return;
    }
    const now = this.deps.clock.now();
    for (const job of jobs) {
      f.held.hold(job, now);
      this.byId.set(job.id, task);
      this.deps.leases.keep({ id: job.id, token: job.leaseToken, task });
    }
    this.expiry.at(now + HOLD_MS);
    this.deps.arrived(task, jobs.length);
  }

  private releaseAll(f: FunctionAhead): Promise<void>[] {
    return f.held.takeAll().map((job) => this.giveBack(job));
  }

  private giveBack(job: ClaimedJob): Promise<void> {
    this.byId.delete(job.id);
    this.deps.leases.release(job.id);
    return this.deps.release(job);
  }

  /** Jobs nobody came for within HOLD_MS go back (their workers are busy with long jobs, or gone). */
  private releaseStale(): void {
    const now = this.deps.clock.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const f of this.byTask.values()) {
      for (const job of f.held.takeStale(now)) void this.giveBack(job);
      earliest = Math.min(earliest, f.held.dueAt ?? Number.POSITIVE_INFINITY);
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.expiry.at(earliest);
  }
}
