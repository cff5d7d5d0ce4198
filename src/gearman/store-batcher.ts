/**
 * Group commit for the Gearman port: every submit, result and grab that arrives in one turn of
 * the event loop, from every connection, is written in a few transactions instead of one each.
 * Inserts go first (a grab in the same turn sees them), then the results together with the grabs
 * (a finished job's concurrency slot is free for them). Grabs for the same functions are one
 * claim: the Gearman port is the worker that holds the leases, on its connections' behalf.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { ClaimedJob, ClaimParams, InsertedJob, NewJob, Store, Transition } from '../store/store.js';

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/** The functions a grabbing connection can do. */
export type ClaimRequest = { tasks: string[] };

/** Who holds the leases of the jobs the port hands out, and for how long. */
export interface Claimer {
  workerId: string;
  leaseMs: number;
}

const MAX_FINISH_TRIES = 6;

export class StoreBatcher {
  private inserts: Waiting<NewJob, InsertedJob>[] = [];
  private finishes: (Waiting<Transition, boolean> & { tries: number })[] = [];
  private claims: Waiting<ClaimRequest, ClaimedJob | undefined>[] = [];
  private scheduled = false;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly claimer: Claimer,
  ) {}

  insert(job: NewJob): Promise<InsertedJob> {
    return new Promise((resolve, reject) => {
      this.inserts.push({ item: job, resolve, reject });
      this.schedule();
    });
  }

  /** Records an attempt's outcome; false when the lease was lost (cancelled, or taken over). */
  finish(transition: Transition): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.finishes.push({ item: transition, resolve, reject, tries: 0 });
      this.schedule();
    });
  }

  /** Claims one job for a worker; undefined when none is runnable (or the store failed: logged). */
  claim(request: ClaimRequest): Promise<ClaimedJob | undefined> {
    return new Promise((resolve, reject) => {
      this.claims.push({ item: request, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything handed in so far is written. */
  async drain(): Promise<void> {
    while (this.flushing || this.inserts.length || this.finishes.length || this.claims.length) await this.flush();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** One flush at a time, so writes keep their order; what arrives meanwhile forms the next group. */
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
    const claims = groupByTasks(this.claims.splice(0));
    if (inserts.length) await this.writeInserts(inserts);
    const first = finishes.length ? claims.shift() : undefined;
    if (finishes.length) await this.writeFinishes(finishes, first);
    for (const group of claims) await this.writeClaims(group);
  }

  private claimParams(group: ClaimGroup, now: number): ClaimParams {
    return { ...this.claimer, tasks: group[0].item.tasks, max: group.length, now };
  }

  private async writeInserts(inserts: Waiting<NewJob, InsertedJob>[]): Promise<void> {
    try {
      const r = await this.store.insertJobs({ jobs: inserts.map((w) => w.item), now: this.clock.now() });
      inserts.forEach((w, i) => {
        w.resolve(r.jobs[i]);
      });
    } catch (err) {
      for (const w of inserts) w.reject(err);
    }
  }

  private async writeFinishes(finishes: StoreBatcher['finishes'], claims: ClaimGroup | undefined): Promise<void> {
    const now = this.clock.now();
    try {
      const r = await this.store.finishJobs({ transitions: finishes.map((w) => w.item), now, claim: claims && this.claimParams(claims, now) });
      finishes.forEach((w, i) => {
        w.resolve(r.results[i].ok);
      });
      if (claims) handOut(claims, r.claimed);
    } catch (err) {
      if (claims) handOut(claims, []);
      this.retryFinishes(finishes, err);
    }
  }

  /** Results must not be lost to a busy or briefly unreachable store: try again, then give up loudly. */
  private retryFinishes(finishes: StoreBatcher['finishes'], err: unknown): void {
    const again = finishes.filter((w) => ++w.tries < MAX_FINISH_TRIES);
    for (const w of finishes) if (w.tries >= MAX_FINISH_TRIES) w.reject(err);
    if (again.length === 0) return;
    const delay = Math.min(5000, 50 * 2 ** again[0].tries);
    this.logger.error({ err, retryInMs: delay, jobs: again.map((w) => w.item.id) }, 'gearman: could not record job results; retrying');
    this.clock.setTimer(() => {
      this.finishes.unshift(...again);
      this.schedule();
    }, delay);
  }

  private async writeClaims(group: ClaimGroup): Promise<void> {
    try {
      handOut(group, await this.store.claimJobs(this.claimParams(group, this.clock.now())));
    } catch (err) {
      this.logger.error({ err }, 'gearman: could not claim jobs; answering NO_JOB');
      handOut(group, []);
    }
  }
}

type ClaimGroup = Waiting<ClaimRequest, ClaimedJob | undefined>[];

/** Grabs for the same set of functions, in arrival order, become one claim. */
function groupByTasks(claims: ClaimGroup): ClaimGroup[] {
  const groups = new Map<string, ClaimGroup>();
  for (const c of claims) {
    const key = [...c.item.tasks].sort().join('\0');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(c);
  }
  return [...groups.values()];
}

/** The claimed jobs go to the grabs in order (best job to the first grab); the rest get none. */
function handOut(group: ClaimGroup, jobs: ClaimedJob[]): void {
  group.forEach((w, i) => {
    w.resolve(jobs[i]);
  });
}
