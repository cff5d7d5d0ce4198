import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import { PeriodicService } from './periodic.js';

/**
 * Folds the job counters' deltas into their totals (`Store.foldCounters`, PostgreSQL): writers
 * append deltas instead of updating a shared counter row, so they never wait for each other, and
 * reads add the deltas not yet folded. Folding often keeps those reads short; one process of the
 * cluster does it at a time, and a store without deltas (SQLite) has nothing to fold.
 */
export class CounterFolder extends PeriodicService {
  constructor(
    private readonly store: Store,
    clock: Clock,
    logger: Logger,
    intervalMs = 1000,
  ) {
    super(clock, logger, intervalMs, { store, name: 'counter-folder' });
  }

  protected async runOnce(): Promise<void> {
    await this.store.foldCounters?.();
  }
}
