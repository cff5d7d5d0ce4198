import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import { PeriodicService } from './periodic.js';

/**
 * Puts back the jobs of workers that stopped heartbeating (crashed, hung, cut off): each expired
 * lease is a failed attempt, retried at once while attempts remain. One process reaps at a time
 * where the store can elect one (PostgreSQL); it would be safe anywhere anyway: the store fences
 * each job by its lease token, so a job is reaped once.
 */
export class Rescuer extends PeriodicService {
  constructor(
    private readonly store: Store,
    clock: Clock,
    logger: Logger,
    intervalMs = 5000,
  ) {
    super(clock, logger, intervalMs, { store, name: 'rescuer' });
  }

  protected async runOnce(): Promise<void> {
    for (;;) {
      const r = await this.store.reapExpiredLeases({ now: this.clock.now(), limit: 500 });
      const n = r.requeued.length + r.failed.length;
      if (n > 0)
        this.logger.warn({ requeued: r.requeued.map((j) => j.id), failed: r.failed.map((j) => j.id) }, 'reaped jobs whose worker stopped heartbeating');
      if (n < 500) return;
    }
  }
}
