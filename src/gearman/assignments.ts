/**
 * The worker side: GRAB_* claims a job (through the process's group commit, one claim for the
 * grabs of a turn), the connection holds it while the lease keeper renews its lease (as long as
 * the connection lives and its CAN_DO_TIMEOUT has not passed), and WORK_* packets are accepted
 * only from the connection that holds the job. A disconnect or a timeout counts as a failed
 * attempt and puts the job straight back in the queue.
 *
 * While a function's workers drain a backlog, its jobs are claimed ahead in batches (ClaimAhead)
 * and a GRAB is answered from those at once.
 *
 * A new job may also be handed to a waiting worker as it is stored (see Submissions): it answers
 * that connection's lingering GRAB, or is reserved for the connection, which is woken and gets it
 * in its next GRAB without a claim. A reservation the worker does not come for goes back to the
 * queue, the attempt not counted.
 */
import {
  GearmanWorkExceptionError,
  GearmanWorkFailError,
  JobNotFoundError,
  JobTimeoutError,
  type OffloadError,
  WorkerDisconnectedError,
} from '../core/errors.js';
import type { JobProgress, Payload } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import { failFor, type Transition } from '../core/transitions.js';
import type { Offload } from '../offload.js';
import type { ClaimedJob } from '../store/store.js';
import { LeaseKeeper, type LostLease } from '../worker/lease-keeper.js';
import { storeTouch } from '../worker/store-backend.js';
import { ClaimAhead } from './claim-ahead.js';
import { errorPacket, type GearmanConnection, response } from './connection.js';
import { handleOf } from './handles.js';
import type { Listeners } from './listeners.js';
import { atoi, PacketType, type Reply } from './protocol.js';
import type { Reducers } from './reducers.js';
import type { Wakeups } from './wakeups.js';
import type { GrabKind, HeldJob } from './worker-peer.js';
import type { WorkerRecords } from './worker-records.js';

export interface AssignmentDeps {
  offload: Offload;
  wakeups: Wakeups;
  listeners: Listeners;
  reducers: Reducers;
  workers: WorkerRecords;
  logger: Logger;
  handlePrefix: string;
  leaseMs: number;
  /** How long a GRAB that finds nothing waits for a new job (0: NO_JOB at once). */
  grabLingerMs: number;
}

const NO_JOB = response(PacketType.NO_JOB);

export class Assignments {
  private readonly byId = new Map<string, HeldJob>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly leases: LeaseKeeper;
  private readonly ahead: ClaimAhead;
  private stopped = false;

  constructor(private readonly deps: AssignmentDeps) {
    this.leases = new LeaseKeeper({
      touch: storeTouch(deps.offload.store),
      clock: deps.offload.clock,
      logger: deps.logger,
      leaseMs: deps.leaseMs,
      who: deps.workers.portId,
      onLost: (lost) => this.onLost(lost),
      onBeat: async () => {
        this.releaseUncollected();
        await this.deps.workers.refresh();
      },
    });
    const { queues } = deps.wakeups;
    this.ahead = new ClaimAhead({
      commits: deps.offload.commits,
      leases: this.leases,
      clock: deps.offload.clock,
      logger: deps.logger,
      workerId: deps.workers.portId,
      leaseMs: deps.leaseMs,
      mayClaim: (task) => !queues.isEmpty(task) && queues.unlimitedNow(task),
      since: () => queues.since,
      foundNone: (task, since) => void queues.learn([task], since).catch(() => undefined),
      arrived: (task, count) => deps.wakeups.wakeWaiting(task, count),
      release: (job) => this.release({ id: job.id, token: job.leaseToken }),
    });
  }

  /** Jobs claimed ahead, all functions. */
  get claimedAhead(): number {
    return this.ahead.size;
  }

  /** Jobs of `task` claimed ahead and not handed to a worker yet (admin `status` counts them as queued). */
  heldAhead(task: string): number {
    return this.ahead.heldFor(task);
  }

  start(): void {
    const { bus } = this.deps.offload;
    // A job became runnable in the queue: a lingering GRAB claims it.
    this.deps.wakeups.onLingerWake = (conn) => this.endLinger(conn, (kind) => this.takeAheadOrClaim(conn, kind));
    // Cancelled elsewhere (admin, API, CLI): the holder's later WORK_* is answered JOB_NOT_FOUND.
    this.unsubscribe.push(
      bus.on('job:cancelled', (e) => {
        this.ahead.drop(e.id);
        this.drop(this.byId.get(e.id));
      }),
    );
    this.leases.start();
  }

  /** Gives every held job back to the queue without counting the attempt (the server is stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    const ahead = this.ahead.stop();
    await this.leases.stop();
    const held = [...this.byId.values()];
    for (const job of held) this.drop(job);
    await Promise.all([...held.map((job) => this.release(job)), ahead]);
  }

  /** Records an outcome with the group commit (retried while the store is away). */
  private finish(transition: Transition): Promise<boolean> {
    return this.deps.offload.commits.finish(transition).then((status) => status === 'recorded');
  }

  /** Stops holding a job nobody worked on and puts it back in the queue. */
  private putBack(job: HeldJob): void {
    this.drop(job);
    void this.release(job);
  }

  /** Puts a job back in the queue at once, the attempt not counted (nobody worked on it). */
  private async release(job: { id: string; token: string }): Promise<void> {
    try {
      await this.finish({ to: 'queued', id: job.id, token: job.token, runAt: this.deps.offload.clock.now(), error: null, countAttempt: false });
    } catch (err) {
      this.deps.logger.warn({ err, job: job.id }, 'gearman: could not put a job back in the queue; its lease will expire');
    }
  }

  // ---- hand-over -------------------------------------------------------------------------------

  /** A new job was stored leased to this port for `conn` (from Wakeups.takeWaitingWorker, which woke it): its next GRAB gets it. */
  reserve(conn: GearmanConnection, claimed: ClaimedJob): void {
    const w = conn.worker;
    const job = this.heldJob(conn, claimed);
    if (conn.closed || this.stopped || w.reserved || !w.abilities.has(claimed.task)) {
      void this.release(job);
      return;
    }
    this.hold(job);
    // Its GRAB is still waiting: that is the answer.
    if (w.lingering) return this.endLinger(conn, (kind) => this.assign(conn, kind, job, claimed));
    w.reserve({ job, claimed, at: this.deps.offload.clock.now() });
  }

  /** Whether the job is reserved for a woken worker that has not come for it: stored running, but nobody works on it yet. */
  reservedOnly(jobId: string): boolean {
    if (this.ahead.holds(jobId)) return true;
    const job = this.byId.get(jobId);
    return job !== undefined && job.holder.reserved?.job === job;
  }

  /** CANT_DO / RESET_ABILITIES: a job reserved for one of those functions goes back to the queue now. */
  abilitiesDropped(conn: GearmanConnection, tasks: string[]): void {
    this.ahead.forget(conn.worker, tasks);
    const r = conn.worker.reserved;
    if (r && tasks.includes(r.job.task) && this.byId.get(r.job.id) === r.job) this.putBack(r.job);
  }

  /** The connection's reserved job, now held by it; released instead if it no longer does that function. */
  private takeReservation(conn: GearmanConnection) {
    const r = conn.worker.takeReservation();
    if (!r) return undefined;
    if (this.byId.get(r.job.id) !== r.job) return undefined; // cancelled meanwhile
    if (conn.worker.abilities.has(r.job.task) && !this.stopped) return r;
    this.putBack(r.job);
    return undefined;
  }

  // ---- GRAB ------------------------------------------------------------------------------------

  grab(conn: GearmanConnection, kind: GrabKind): Reply | Promise<Reply> {
    const w = conn.worker;
    // A job meant for it is being stored: answer once it is.
    const handOff = w.handOff;
    if (handOff) return handOff.then(() => this.grab(conn, kind));
    const { wakeups } = this.deps;
    wakeups.awake(conn);
    const reserved = this.takeReservation(conn);
    if (reserved) return this.assign(conn, kind, reserved.job, reserved.claimed);
    if (!w.isWorker || this.stopped) return NO_JOB;
    const ahead = this.ahead.take(w, w.abilities.keys());
    if (ahead) return this.assignAhead(conn, kind, ahead);
    // Nothing to find: answered without asking the store (after a moment, in case a job comes).
    if (wakeups.queues.allEmpty(w.abilities.keys())) {
      w.foundNothing(wakeups.seq);
      if (this.deps.grabLingerMs > 0) return this.linger(conn, kind);
      wakeups.idle(conn);
      return NO_JOB;
    }
    return this.claim(conn, kind);
  }

  /**
   * Holds a GRAB that found nothing for `grabLingerMs`: under load the next submit is rarely
   * further away, and giving it to this GRAB saves the worker's NO_JOB, PRE_SLEEP, NOOP, GRAB round.
   */
  private linger(conn: GearmanConnection, kind: GrabKind): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      const timer = this.deps.offload.clock.setTimer(
        () =>
          this.endLinger(conn, () => {
            this.deps.wakeups.idle(conn);
            return NO_JOB;
          }),
        this.deps.grabLingerMs,
      );
      conn.worker.linger({ kind, answer: resolve, timer });
      this.deps.wakeups.linger(conn);
    });
  }

  /** Answers a lingering GRAB. */
  private endLinger(conn: GearmanConnection, answer: (kind: GrabKind) => Reply | Promise<Reply>): void {
    const l = conn.worker.stopLingering();
    if (!l) return;
    this.deps.wakeups.stopLingering(conn);
    l.answer(answer(l.kind));
  }

  /** A job claimed ahead, else a claim of its own (a lingering GRAB woken). */
  private takeAheadOrClaim(conn: GearmanConnection, kind: GrabKind): Reply | Promise<Reply> {
    const ahead = this.ahead.take(conn.worker, conn.worker.abilities.keys());
    return ahead ? this.assignAhead(conn, kind, ahead) : this.claim(conn, kind);
  }

  private assignAhead(conn: GearmanConnection, kind: GrabKind, claimed: ClaimedJob): Buffer {
    const job = this.heldJob(conn, claimed);
    this.hold(job);
    return this.assign(conn, kind, job, claimed);
  }

  /** Claims one job for the grab, with the other grabs and outcomes of this turn (one transaction); none if the store fails. */
  private async claim(conn: GearmanConnection, kind: GrabKind): Promise<Reply> {
    const { wakeups, offload } = this.deps;
    const seq = wakeups.seq;
    const since = wakeups.queues.since;
    const tasks = [...conn.worker.abilities.keys()];
    let claimed: ClaimedJob | undefined;
    try {
      [claimed] = await offload.commits.claim({ workerId: this.deps.workers.portId, tasks, max: 1, leaseMs: this.deps.leaseMs });
    } catch (err) {
      this.deps.logger.error({ err }, 'gearman: could not claim jobs; answering NO_JOB');
    }
    if (!claimed) {
      conn.worker.foundNothing(seq);
      wakeups.idle(conn);
      void wakeups.queues.learn(tasks, since).catch((err: unknown) => this.deps.logger.debug({ err }, 'gearman: could not read task settings'));
      return NO_JOB;
    }
    if (conn.closed || this.stopped) {
      void this.release(this.heldJob(conn, claimed));
      return null;
    }
    const job = this.heldJob(conn, claimed);
    this.hold(job);
    return this.assign(conn, kind, job, claimed);
  }

  /** `conn` holds the job from now on: its timeout runs, its WORK_* packets are accepted. */
  private assign(conn: GearmanConnection, kind: GrabKind, job: HeldJob, c: ClaimedJob): Buffer {
    // The worker's CAN_DO_TIMEOUT or the job's own timeout (the task's timeoutMs), whichever is shorter.
    const limits = [conn.worker.abilities.get(c.task) ?? 0, c.timeoutMs ?? 0].filter((ms) => ms > 0);
    if (limits.length) {
      const timeoutMs = Math.min(...limits);
      job.timeout = this.deps.offload.clock.setTimer(() => this.expire(job, timeoutMs), timeoutMs);
    }
    conn.worker.held.set(job.handle, job);
    this.deps.wakeups.assigned(c.task);
    return this.assignPacket(kind, job, c);
  }

  /** Its lease is kept (renewed, its progress written) from now on. */
  private hold(job: HeldJob): void {
    this.byId.set(job.id, job);
    this.leases.keep({ id: job.id, token: job.token, task: job.task });
  }

  private heldJob(conn: GearmanConnection, c: ClaimedJob): HeldJob {
    return {
      id: c.id,
      handle: handleOf(this.deps.handlePrefix, c.id),
      task: c.task,
      token: c.leaseToken,
      attempt: c.attempt,
      maxAttempts: c.maxAttempts,
      holder: conn.worker,
      timeout: undefined,
    };
  }

  private assignPacket(kind: GrabKind, job: HeldJob, c: ClaimedJob): Buffer {
    const workload = payloadBytes(c.input);
    if (kind === 'job') return response(PacketType.JOB_ASSIGN, [job.handle, c.task, workload]);
    const unique = c.uniqueKey ?? '';
    const reducer = kind === 'all' ? this.deps.reducers.get(c.id) : undefined;
    if (reducer !== undefined) return response(PacketType.JOB_ASSIGN_ALL, [job.handle, c.task, unique, reducer, workload]);
    return response(PacketType.JOB_ASSIGN_UNIQ, [job.handle, c.task, unique, workload]);
  }

  // ---- WORK_* ----------------------------------------------------------------------------------

  /** WORK_STATUS: recorded as the job's progress (by the lease keeper, at most every 100 ms) and forwarded to its clients at once. */
  status(conn: GearmanConnection, [handle, numerator, denominator]: Buffer[]): Reply {
    const job = conn.worker.held.get(handle.toString('latin1'));
    if (!job) return notFound('Job given in work result not found');
    this.leases.progress(job.id, { done: atoi(numerator), total: atoi(denominator) });
    this.deps.listeners.forward(job.id, response(PacketType.WORK_STATUS, [handle, numerator, denominator]));
    return null;
  }

  /** WORK_DATA / WORK_WARNING: forwarded to the job's clients, not stored (as gearmand). */
  data(conn: GearmanConnection, type: number, [handle, data]: Buffer[]): Reply {
    const job = conn.worker.held.get(handle.toString('latin1'));
    if (!job) return notFound('Job does not exist on server');
    this.deps.listeners.forward(job.id, response(type, [handle, data]));
    return null;
  }

  /**
   * WORK_COMPLETE. Nothing answers it unless the outcome is refused, so the worker's next GRAB is
   * not held up behind its commit: the outcome is written with the group, and an ERROR follows if
   * the job turns out to have been lost (its lease taken over, or cancelled). Nobody learns of the
   * result before it is stored (the job's clients are told once it is).
   */
  complete(conn: GearmanConnection, [handle, result]: Buffer[]): Reply {
    const job = conn.worker.held.get(handle.toString('latin1'));
    if (!job) return notFound('Job given in work result not found');
    this.record(conn, job, 'Job given in work result not found', async () => ({ to: 'succeeded', id: job.id, token: job.token, result }));
    return null;
  }

  /** WORK_FAIL, or WORK_EXCEPTION with its data: a failed attempt, retried per the task's policy (answered as WORK_COMPLETE). */
  fail(conn: GearmanConnection, [handle, exception]: Buffer[]): Reply {
    const job = conn.worker.held.get(handle.toString('latin1'));
    const worker = this.deps.workers.idOf(conn);
    const text = exception === undefined ? 'Job given in work result not found' : 'An exception was received for a job that does not exist';
    if (!job) return notFound(text);
    const error =
      exception === undefined ? new GearmanWorkFailError(job.id, worker) : new GearmanWorkExceptionError(job.id, worker, exception.toString('utf8'));
    this.record(conn, job, text, () => this.failure(job, error, false));
    return null;
  }

  /** Writes a held job's outcome after its last progress; an ERROR goes to the worker if it is refused. */
  private record(conn: GearmanConnection, job: HeldJob, refusedText: string, transition: () => Promise<Transition>): void {
    const write = async () => {
      await this.settle(job);
      return this.finish(await transition());
    };
    write().then(
      (ok) => {
        if (!ok) conn.send(notFound(refusedText));
      },
      (err: unknown) => {
        this.deps.logger.error({ err, job: job.id }, 'gearman: could not record an outcome; its lease will expire and the job run again');
        conn.send(errorPacket(err));
      },
    );
  }

  /** The job's last progress is written before its outcome, and it is no longer held. */
  private async settle(job: HeldJob): Promise<void> {
    if (this.leases.unsettled(job.id)) await this.leases.settle([job.id]);
    this.drop(job);
  }

  // ---- losing jobs -----------------------------------------------------------------------------

  /** The connection closed: its jobs go back to the queue at once, the attempt counted (a reserved one's not). */
  disconnected(conn: GearmanConnection): void {
    this.ahead.forget(conn.worker, conn.worker.abilities.keys());
    conn.worker.stopLingering();
    const reserved = conn.worker.takeReservation();
    if (reserved && this.byId.get(reserved.job.id) === reserved.job) this.putBack(reserved.job);
    const worker = this.deps.workers.idOf(conn);
    for (const job of [...conn.worker.held.values()]) {
      this.drop(job);
      void this.requeue(job, new WorkerDisconnectedError(job.id, worker));
    }
  }

  /** CAN_DO_TIMEOUT (or the job's timeout) passed: the job goes back to the queue, as gearmand does, the attempt counted. */
  private expire(job: HeldJob, ms: number): void {
    if (this.byId.get(job.id) !== job) return;
    this.drop(job);
    void this.requeue(job, new JobTimeoutError(job.id, ms));
  }

  private async requeue(job: HeldJob, error: OffloadError): Promise<void> {
    try {
      await this.finish(await this.failure(job, error, true));
    } catch (err) {
      this.deps.logger.warn({ err, job: job.id }, 'gearman: could not put a job back in the queue; its lease will expire');
    }
  }

  /** The transition for a failed attempt; `now` retries at once instead of after the task's backoff. */
  private async failure(job: HeldJob, error: OffloadError, now: boolean): Promise<Transition> {
    error.stack = undefined; // our stack says nothing about the worker's failure
    const settings = await this.deps.offload.registry.settingsFor(job.task);
    const attempt = { id: job.id, token: job.token, attempt: job.attempt, maxAttempts: job.maxAttempts };
    const { transition } = failFor(attempt, settings, error, this.deps.offload.clock.now(), false);
    if (now && transition.to === 'queued') transition.runAt = this.deps.offload.clock.now();
    return transition;
  }

  /** Stops holding a job: no more renewals, no timeout, WORK_* for it is refused from now on. */
  private drop(job: HeldJob | undefined): void {
    if (!job || this.byId.get(job.id) !== job) return;
    this.byId.delete(job.id);
    this.leases.release(job.id);
    job.holder.held.delete(job.handle);
    job.holder.unreserve(job);
    job.timeout?.cancel();
  }

  /** Leases the keeper found lost (cancelled, or taken over): those jobs are no longer held here. */
  private onLost(lost: LostLease[]): void {
    for (const { id } of lost) {
      this.ahead.drop(id);
      this.drop(this.byId.get(id));
    }
  }

  /** A worker woken for its reserved job answers with a GRAB at once; one that has not for a while may never. */
  private releaseUncollected(): void {
    const before = this.deps.offload.clock.now() - this.deps.leaseMs / 3;
    for (const job of this.byId.values()) {
      const r = job.holder.reserved;
      if (r?.job !== job || r.at > before) continue;
      this.deps.logger.warn(
        { peer: job.holder.address, conn: job.holder.connId, job: job.id },
        'gearman worker was woken for a job and did not come for it; the job goes back to the queue',
      );
      this.putBack(job);
    }
  }

  /** What GET_STATUS reports for a job held here: the latest WORK_STATUS, even before it is written. */
  progressOf(jobId: string): JobProgress | undefined {
    return this.leases.latestProgress(jobId);
  }
}

/** Bytes as a Gearman worker gets them: raw input as is, a JSON input as its JSON text. */
export function payloadBytes(payload: Payload): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

/** gearmand's JOB_NOT_FOUND texts differ by packet; the code is Offload's own JOB_NOT_FOUND. */
function notFound(text: string): Buffer {
  return response(PacketType.ERROR, [JobNotFoundError.code, text]);
}
