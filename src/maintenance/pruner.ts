import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import { PeriodicService } from './periodic.js';

/** Deletes finished jobs older than their task's retention, in small chunks. */
export class Pruner extends PeriodicService {
  constructor(
    private readonly store: Store,
    clock: Clock,
    logger: Logger,
    intervalMs = 60_000,
  ) {
    super(clock, logger, intervalMs, { store, name: 'pruner' });
  }

  protected async runOnce(): Promise<void> {
    let total = 0;
    for (let round = 0; round < 100; round++) {
      const { deleted } = await this.store.pruneJobs({ now: this.clock.now(), limit: 1000 });
      total += deleted;
      if (deleted === 0) break;
      // Give other work a turn between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (total > 0) this.logger.info({ deleted: total }, 'pruned finished jobs past their retention');
  }
}
