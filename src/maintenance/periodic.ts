import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Service } from '../core/service.js';
import type { Store } from '../store/store.js';

/** A duty done for the whole cluster: its scheduled runs happen only where the store's lock for it is held. */
export interface ClusterDuty {
  store: Store;
  name: string;
}

/**
 * A duty run every `intervalMs` on the injected clock: the next run is scheduled after the
 * previous one ends, so a slow run never overlaps itself. Errors are logged, never fatal.
 * With a `ClusterDuty`, each scheduled run first asks the store whether this process holds the
 * duty (`Store.holdDuty`): one process does it at a time, and another takes over when it dies.
 */
export abstract class PeriodicService extends Service {
  private timer: Timer | undefined;
  private current: Promise<void> | undefined;
  private halted = false;

  constructor(
    protected readonly clock: Clock,
    protected readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly duty?: ClusterDuty,
  ) {
    super();
  }

  /** One run of the duty. */
  protected abstract runOnce(): Promise<void>;

  /** Runs the duty now, here, whoever holds it (tests, `offload` commands); waits for a run already in progress. */
  async runNow(): Promise<void> {
    if (this.current) await this.current;
    this.current = this.runOnce().finally(() => {
      this.current = undefined;
    });
    await this.current;
  }

  protected async onStart(): Promise<void> {
    this.arm();
  }

  protected async onStop(): Promise<void> {
    this.halted = true;
    this.timer?.cancel();
    await this.current?.catch(() => undefined);
  }

  private arm(): void {
    if (this.halted) return;
    this.timer = this.clock.setTimer(() => {
      this.scheduledRun()
        .catch((err: unknown) => this.logger.error({ err, service: this.constructor.name }, 'maintenance run failed; will try again'))
        .finally(() => this.arm());
    }, this.intervalMs);
  }

  private async scheduledRun(): Promise<void> {
    if (this.duty && !(await this.duty.store.holdDuty({ duty: this.duty.name }))) return;
    await this.runNow();
  }
}
