/**
 * Group commit: every job outcome, claim and insert handed in during one turn of the event loop,
 * by any way in (a worker's handlers, the Gearman port's connections, concurrent HTTP agents), is
 * written in one transaction, where a write each would cost a commit each. One retry policy for
 * all of them: an outcome is never dropped because the store is briefly down, full or busy; it
 * is written again with backoff, for as long as its caller allows (for ever, by default).
 *
 * Within a group, inserts go first (a claim in the same group sees them), then the outcomes
 * together with the first claim (a slot an outcome frees is taken in the same commit), then the
 * other claims. Claims of the same worker for the same tasks are one claim, handed out in order.
 *
 * A refused outcome (its lease token stale) is checked against the job once more: the same
 * outcome, under the same token, already recorded (its first answer lost) counts as recorded.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { alreadyRecorded, type RecordedJob, type Transition } from '../core/transitions.js';
import type { ClaimedJob, ClaimParams, InsertedJob, InsertJobsParams, InsertJobsResult, NewJob, TransitionResult } from './store.js';

/** Where groups are written: the Store itself, or a server over HTTP for a remote worker. */
export interface CommitTarget {
  readonly description: string;
  finishJobs(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<{ results: TransitionResult[]; claimed: ClaimedJob[] }>;
  claimJobs(p: ClaimParams): Promise<ClaimedJob[]>;
  insertJobs?(p: InsertJobsParams): Promise<InsertJobsResult>;
  /** The jobs of refused outcomes, to recognise a repeat; a target without it recognises repeats itself. */
  getJobs?(p: { ids: string[] }): Promise<(RecordedJob & { id: string })[]>;
}

/** What became of an outcome: written, or refused because the lease was lost (cancelled, or another worker's now). */
export type FinishStatus = 'recorded' | 'lost';

export interface FinishOptions {
  /** Stop retrying after this long and reject with the store's error (default: retry for as long as it takes). */
  retryForMs?: number;
  /** Gives up on the outcome while it waits to be written again (a worker stopping): it rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

interface PendingFinish extends Waiting<Transition, FinishStatus> {
  tries: number;
  giveUpAt: number;
  signal: AbortSignal | undefined;
}

/** A claim; its `max` may be a function, read when the group is written (the slots free then). */
export type ClaimRequest = Omit<ClaimParams, 'now' | 'max'> & { max: number | (() => number) };

type PendingClaim = Waiting<ClaimRequest, ClaimedJob[]>;

const MAX_RETRY_DELAY_MS = 5000;

export class GroupCommit {
  private inserts: Waiting<NewJob, InsertedJob>[] = [];
  private finishes: PendingFinish[] = [];
  private claims: PendingClaim[] = [];
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  /** Resolves when the backoff after a failed group ends. */
  private backoff: Promise<void> | undefined;
  private failures = 0;
  /** Signals listened to (see `watch`). */
  private readonly watched = new Set<AbortSignal>();

  constructor(
    private readonly target: CommitTarget,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Outcomes handed in and not yet written (or being retried). */
  get pending(): number {
    return this.finishes.length;
  }

  /** Stores a new job with the group (needs a target that inserts). */
  insert(job: NewJob): Promise<InsertedJob> {
    return new Promise((resolve, reject) => {
      this.inserts.push({ item: job, resolve, reject });
      this.schedule();
    });
  }

  /** Records an attempt's outcome with the group. */
  finish(transition: Transition, opts: FinishOptions = {}): Promise<FinishStatus> {
    return new Promise((resolve, reject) => this.finishThen(transition, opts, resolve, reject));
  }

  /** `finish` with callbacks: no promise per outcome, for a worker that hands in tens of thousands a second. */
  finishThen(transition: Transition, opts: FinishOptions, resolve: (status: FinishStatus) => void, reject: (err: unknown) => void): void {
    const giveUpAt = opts.retryForMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + opts.retryForMs;
    const pending: PendingFinish = { item: transition, resolve, reject, tries: 0, giveUpAt, signal: opts.signal };
    if (opts.signal) {
      if (opts.signal.aborted) return reject(opts.signal.reason);
      this.watch(opts.signal);
    }
    this.finishes.push(pending);
    this.schedule();
  }

  /**
   * One listener per signal, however many outcomes it covers (a listener per outcome costs more
   * than the outcome's share of a commit): when it aborts, its outcomes still waiting are withdrawn
   * (not one being written: that write decides).
   */
  private watch(signal: AbortSignal): void {
    if (this.watched.has(signal)) return;
    this.watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        this.watched.delete(signal);
        const withdrawn = this.finishes.filter((f) => f.signal === signal);
        this.finishes = this.finishes.filter((f) => f.signal !== signal);
        for (const f of withdrawn) f.reject(signal.reason);
      },
      { once: true },
    );
  }

  /**
   * Claims jobs with the group: in the same transaction as the outcomes written with it, when
   * there are. A `max` given as a function is read as the group is written, so a worker asks for
   * every slot its outcomes of this turn free, however many come after it asked.
   */
  claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return new Promise((resolve, reject) => {
      this.claims.push({ item: request, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything handed in so far is written, or given up on (bound it with `abandon` when the store may stay down). */
  async drain(): Promise<void> {
    while (this.flushing || this.inserts.length || this.finishes.length || this.claims.length) {
      if (this.backoff) await this.backoff;
      else await this.flush();
    }
  }

  /** Gives up on what is still waiting (outcomes being retried, claims): each rejects with `err`. */
  abandon(err: unknown): void {
    for (const w of [...this.finishes.splice(0), ...this.claims.splice(0), ...this.inserts.splice(0)]) w.reject(err);
  }

  private schedule(): void {
    if (this.scheduled || this.backoff) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** One group at a time, so writes keep their order; what arrives meanwhile forms the next one. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.inserts.length && !this.finishes.length && !this.claims.length) return Promise.resolve();
    this.flushing = this.writeGroup().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeGroup(): Promise<void> {
    const inserts = this.inserts.splice(0);
    const finishes = this.finishes.splice(0);
    const claims = mergeClaims(this.claims.splice(0));
    if (inserts.length) await this.writeInserts(inserts);
    const withFinishes = finishes.length ? claims.shift() : undefined;
    if (finishes.length) await this.writeFinishes(finishes, withFinishes?.params.max ? withFinishes : undefined);
    if (withFinishes && !withFinishes.params.max) withFinishes.handOut([]);
    for (const c of claims) await (c.params.max ? this.writeClaim(c) : c.handOut([]));
  }

  private async writeInserts(inserts: Waiting<NewJob, InsertedJob>[]): Promise<void> {
    try {
      if (!this.target.insertJobs) throw new Error(`${this.target.description} does not take inserts`);
      const r = await this.target.insertJobs({ jobs: inserts.map((w) => w.item), now: this.clock.now() });
      inserts.forEach((w, i) => {
        w.resolve(r.jobs[i]);
      });
    } catch (err) {
      for (const w of inserts) w.reject(err);
    }
  }

  private async writeFinishes(finishes: PendingFinish[], claim: MergedClaim | undefined): Promise<void> {
    const now = this.clock.now();
    let r: { results: TransitionResult[]; claimed: ClaimedJob[] };
    try {
      r = await this.target.finishJobs({ transitions: finishes.map((f) => f.item), now, claim: claim && { ...claim.params, now } });
    } catch (err) {
      claim?.reject(err);
      return this.retry(finishes, err);
    }
    this.failures = 0;
    claim?.handOut(r.claimed);
    const refused = finishes.filter((_, i) => !r.results[i].ok);
    const recorded = refused.length ? await this.recognised(refused) : new Set<PendingFinish>();
    finishes.forEach((f, i) => {
      f.resolve(r.results[i].ok || recorded.has(f) ? 'recorded' : 'lost');
    });
  }

  /** Refused outcomes that had in fact been recorded, by an earlier delivery whose answer was lost. */
  private async recognised(refused: PendingFinish[]): Promise<Set<PendingFinish>> {
    const candidates = refused.filter((f) => f.item.to !== 'queued');
    if (!this.target.getJobs || candidates.length === 0) return new Set();
    try {
      const rows = new Map((await this.target.getJobs({ ids: candidates.map((f) => f.item.id) })).map((row) => [row.id, row]));
      return new Set(candidates.filter((f) => alreadyRecorded(f.item, rows.get(f.item.id) ?? null)));
    } catch (err) {
      this.logger.warn({ err }, 'could not read refused jobs back; their outcomes count as refused');
      return new Set();
    }
  }

  private async writeClaim(claim: MergedClaim): Promise<void> {
    try {
      claim.handOut(await this.target.claimJobs({ ...claim.params, now: this.clock.now() }));
    } catch (err) {
      claim.reject(err);
    }
  }

  /** The store failed: the outcomes go back for the next group after a backoff; those out of time reject. */
  private retry(finishes: PendingFinish[], err: unknown): void {
    this.failures++;
    const now = this.clock.now();
    const again = finishes.filter((f) => {
      if (now < f.giveUpAt) return true;
      f.reject(err);
      return false;
    });
    if (again.length === 0) return;
    for (const f of again) f.tries++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(this.failures, 10));
    this.logger.error({ err, target: this.target.description, jobs: again.length, retryInMs: delay }, 'could not record job outcomes; retrying');
    this.finishes = again.concat(this.finishes);
    this.backoff ??= new Promise((resolve) => {
      this.clock.setTimer(() => {
        this.backoff = undefined;
        resolve();
        this.schedule();
      }, delay);
    });
  }
}

interface MergedClaim {
  params: Omit<ClaimParams, 'now'>;
  handOut(jobs: ClaimedJob[]): void;
  reject(err: unknown): void;
}

/** Claims of one worker for the same tasks and lease become one, its jobs handed out in arrival order. */
function mergeClaims(claims: PendingClaim[]): MergedClaim[] {
  const groups = new Map<string, PendingClaim[]>();
  for (const c of claims) {
    const key = JSON.stringify([c.item.workerId, [...c.item.tasks].sort(), c.item.leaseMs]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(c);
  }
  return [...groups.values()].map((group) => {
    const maxes = group.map((c) => Math.max(0, typeof c.item.max === 'function' ? c.item.max() : c.item.max));
    return {
      params: { workerId: group[0].item.workerId, tasks: group[0].item.tasks, leaseMs: group[0].item.leaseMs, max: maxes.reduce((n, m) => n + m, 0) },
      handOut(jobs: ClaimedJob[]) {
        let next = 0;
        group.forEach((c, i) => {
          c.resolve(jobs.slice(next, next + maxes[i]));
          next += maxes[i];
        });
      },
      reject(err: unknown) {
        for (const c of group) c.reject(err);
      },
    };
  });
}
