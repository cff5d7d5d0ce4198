/**
 * A connection's life as a Gearman worker: the functions it can do, the jobs it holds, and where
 * it stands in the GRAB / PRE_SLEEP / NOOP cycle and in a hand-over. Its state changes only
 * through these methods, called by the parts of the port that own each concern: Requests
 * (abilities), Wakeups (sleeping, idle, owed wake-ups) and Assignments (held, reserved, lingering).
 */
import type { Timer } from '../core/clock.js';
import type { ClaimedJob } from '../store/store.js';
import type { Reply } from './protocol.js';

export type GrabKind = 'job' | 'uniq' | 'all';

export interface HeldJob {
  id: string;
  handle: string;
  task: string;
  token: string;
  attempt: number;
  maxAttempts: number;
  holder: WorkerPeer;
  timeout: Timer | undefined;
}

/** A GRAB that found nothing, not answered yet: `answer` ends it (with a job, or NO_JOB when `timer` fires). */
export interface Lingering {
  kind: GrabKind;
  answer(reply: Reply | Promise<Reply>): void;
  timer: Timer;
}

/** A job handed to a sleeping worker, waiting for its GRAB. */
export interface Reservation {
  job: HeldJob;
  claimed: ClaimedJob;
  at: number;
}

export class WorkerPeer {
  /** Function → CAN_DO_TIMEOUT in ms (0 for none). */
  readonly abilities = new Map<string, number>();
  /** The jobs it works on, by handle. */
  readonly held = new Map<string, HeldJob>();
  private reservation: Reservation | undefined;
  private lingerer: Lingering | undefined;
  private handingOff: Promise<void> | undefined;
  private asleep = false;
  private nooped = false;
  private idleSince = -1;
  private owed = false;
  private emptySeq = -1;

  constructor(
    /** The connection's number and address, for logs. */
    readonly connId: number,
    readonly address: string,
  ) {}

  // ---- abilities ---------------------------------------------------------------------------------

  /** An operator asked this worker to stop (POST /v1/workers/:id/stop): it is handed no more jobs. */
  stopRequested = false;

  /** Whether it takes jobs: it declared abilities and was not asked to stop. */
  get isWorker(): boolean {
    return this.abilities.size > 0 && !this.stopRequested;
  }

  canDo(fn: string, timeoutMs: number): void {
    this.abilities.set(fn, timeoutMs);
  }

  cantDo(fns: Iterable<string>): void {
    for (const fn of fns) this.abilities.delete(fn);
  }

  // ---- the sleep cycle (Wakeups) -----------------------------------------------------------------

  get sleeping(): boolean {
    return this.asleep;
  }

  /** A NOOP went out since it fell asleep. */
  get noopSent(): boolean {
    return this.nooped;
  }

  /** Work was meant for it while it was idle or asleep: a NOOP is due (at once, or at its PRE_SLEEP). */
  get wakeOwed(): boolean {
    return this.owed;
  }

  /** When its latest GRAB was answered NO_JOB, until its PRE_SLEEP or next GRAB; -1 otherwise. */
  get idleAt(): number {
    return this.idleSince;
  }

  /** The wake-up sequence number when its last GRAB found nothing. */
  get emptyGrabSeq(): number {
    return this.emptySeq;
  }

  /** PRE_SLEEP. */
  fallAsleep(): void {
    this.asleep = true;
    this.nooped = false;
  }

  /** Any GRAB: awake, nothing owed. */
  awake(): void {
    this.asleep = false;
    this.nooped = false;
    this.owed = false;
  }

  /** A NOOP is on its way. */
  nooping(): void {
    this.nooped = true;
    this.owed = false;
  }

  oweWake(): void {
    this.owed = true;
  }

  /** The owed wake-up is called off; whether one was owed. */
  forgiveWake(): boolean {
    const was = this.owed;
    this.owed = false;
    return was;
  }

  idle(at: number): void {
    this.idleSince = at;
  }

  /** No longer idle; whether it was. */
  leaveIdle(): boolean {
    const was = this.idleSince >= 0;
    this.idleSince = -1;
    return was;
  }

  foundNothing(seq: number): void {
    this.emptySeq = seq;
  }

  // ---- hand-over (Assignments, Submissions) --------------------------------------------------------

  get reserved(): Reservation | undefined {
    return this.reservation;
  }

  reserve(r: Reservation): void {
    this.reservation = r;
  }

  /** Takes the reserved job (its GRAB came, or it is released); none when there is none. */
  takeReservation(): Reservation | undefined {
    const r = this.reservation;
    this.reservation = undefined;
    return r;
  }

  /** Forgets the reservation if it is for `job`. */
  unreserve(job: HeldJob): void {
    if (this.reservation?.job === job) this.reservation = undefined;
  }

  get lingering(): Lingering | undefined {
    return this.lingerer;
  }

  linger(l: Lingering): void {
    this.lingerer = l;
  }

  /** The lingering GRAB, now no longer lingering (its timer stopped). */
  stopLingering(): Lingering | undefined {
    const l = this.lingerer;
    this.lingerer = undefined;
    l?.timer.cancel();
    return l;
  }

  /** Settles when a job meant for it has been stored (or was not, when coalesced). */
  get handOff(): Promise<void> | undefined {
    return this.handingOff;
  }

  /** A job meant for it is being stored: its GRAB waits; call the returned function once it is. */
  expectHandOff(): () => void {
    let done!: () => void;
    const p = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.handingOff = p;
    return () => {
      if (this.handingOff === p) this.handingOff = undefined;
      done();
    };
  }
}
