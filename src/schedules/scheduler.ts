/**
 * The scheduler: fires the due ticks of every schedule on the store, a maintenance duty like the
 * rescuer's (maintenance/periodic.ts) that wakes at the next tick rather than only on its
 * interval. Every process that does maintenance runs one; where the store elects one process per
 * duty (PostgreSQL), only the elected one does the work and another takes over when it dies. Correctness does not depend on
 * that: each tick is recorded by the one transaction that moves the schedule's cursor past it
 * (`Store.fireSchedule`), so two schedulers that try the same tick make one job.
 */
import { submitKeyOf } from '../client/idempotency.js';
import { newJobWith, type SubmissionLimits } from '../client/submission.js';
import type { Clock } from '../core/clock.js';
import { isOffloadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TaskRegistry } from '../core/registry.js';
import { planTicks, type ScheduleRecord } from '../core/schedule.js';
import { PeriodicService } from '../maintenance/periodic.js';
import type { NewJob, ScheduleTick, Store } from '../store/store.js';

export interface SchedulerDeps {
  store: Store;
  registry: TaskRegistry;
  limits: SubmissionLimits;
  clock: Clock;
  logger: Logger;
}

/** A tick's key lives this long; past it, the schedule's cursor alone keeps the tick from firing twice. */
const TICK_KEY_MS = 7 * 86_400_000;
/** Schedules handled per store read. */
const BATCH = 100;

/** The unique key of a tick's job: the schedule and the tick's time, e.g. `nightly@2026-03-29T01:00:00.000Z`. */
export function tickKeyOf(schedule: string, at: number): string {
  return `${schedule}@${new Date(at).toISOString()}`;
}

export class Scheduler extends PeriodicService {
  constructor(
    private readonly deps: SchedulerDeps,
    /** Look for schedules changed by other processes this often (default 1 000 ms). */
    pollMs = 1000,
  ) {
    super(deps.clock, deps.logger, pollMs, { store: deps.store, name: 'scheduler' });
  }

  /** The first pass at once, not after the poll interval: ticks due during the downtime fire now. */
  protected override async onStart(): Promise<void> {
    this.poke();
  }

  /** Fires the due ticks; returns when the next one falls due. */
  protected async runOnce(): Promise<number | undefined> {
    const { store, clock } = this.deps;
    for (;;) {
      const now = clock.now();
      const due = await store.dueSchedules({ now, limit: BATCH });
      for (const schedule of due) await this.fireDue(schedule, now);
      if (due.length < BATCH) break;
    }
    return (await store.nextScheduleTick()) ?? undefined;
  }

  /** Fires (or passes over) the ticks of one schedule from its cursor up to now. */
  private async fireDue(schedule: ScheduleRecord, now: number): Promise<void> {
    const cursor = schedule.nextTickAt!;
    const plan = planTicks(schedule, cursor, now);
    if (plan.dropped > 0) {
      this.deps.logger.warn(
        { schedule: schedule.name, dropped: plan.dropped, catchUp: schedule.catchUp },
        'ticks missed while no scheduler ran are passed over, as the catch-up policy says',
      );
    }
    if (plan.fire.length === 0) {
      await this.record(schedule, { cursor, at: cursor, next: plan.next }, null, now);
      return;
    }
    // Overlap is judged once per catch-up: the missed ticks made up after one that fired all fire.
    let fired = false;
    for (let i = 0; i < plan.fire.length; i++) {
      const at = plan.fire[i];
      const tick = { cursor: i === 0 ? cursor : at, at, next: i < plan.fire.length - 1 ? plan.fire[i + 1] : plan.next };
      const job = await this.jobFor(schedule, at, now);
      const outcome = await this.record(schedule, tick, job, now, fired);
      if (outcome === 'stale' || outcome === 'gone') return;
      fired ||= outcome === 'fired';
    }
  }

  private async record(schedule: ScheduleRecord, tick: ScheduleTick, job: NewJob | null, now: number, ignoreOverlap = false) {
    const submitKey = job ? submitKeyOf(`tick:${tick.at}`, `schedule:${schedule.name}`, [schedule.name, tick.at], now, TICK_KEY_MS) : undefined;
    const r = await this.deps.store.fireSchedule({ name: schedule.name, job, tick, submitKey, ignoreOverlap, now });
    if (r.outcome === 'fired') this.deps.logger.debug({ schedule: schedule.name, tick: tick.at, job: r.job?.id }, 'schedule fired');
    if (r.outcome === 'skipped') this.deps.logger.info({ schedule: schedule.name, tick: tick.at }, 'tick skipped: the previous job is still queued or running');
    return r.outcome;
  }

  /** The tick's job, or null when it cannot be made (its task is gone, its input no longer fits the schema): the tick is passed over. */
  private async jobFor(schedule: ScheduleRecord, at: number, now: number): Promise<NewJob | null> {
    const { registry, limits, logger } = this.deps;
    try {
      const settings = await registry.settingsFor(schedule.task);
      return newJobWith(registry, settings, limits, now, schedule.task, JSON.parse(schedule.input), {
        priority: schedule.priority ?? undefined,
        runAt: at + (schedule.jitterMs > 0 ? Math.floor(Math.random() * (schedule.jitterMs + 1)) : 0),
        origin: `schedule:${schedule.name}`,
        // Names the tick for good (run_at moves when the job is retried), and the handler sees it.
        uniqueKey: tickKeyOf(schedule.name, at),
      });
    } catch (err) {
      // The store being away is no reason to pass a tick over: the next pass tries again.
      if (!isOffloadError(err) || err.httpStatus >= 500) throw err;
      logger.error({ err, schedule: schedule.name, task: schedule.task, tick: at }, 'the schedule could not make its job; this tick is passed over');
      return null;
    }
  }
}
