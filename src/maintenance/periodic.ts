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
 * previous one ends, so a slow run never overlaps itself; a run may ask for the next one sooner
 * (the scheduler, at the next tick) and `poke()` asks for one now. Errors are logged, never fatal.
 * With a `ClusterDuty`, each scheduled run first asks the store whether this process holds the
 * duty (`Store.holdDuty`): one process does it at a time, and another takes over when it dies.
 */
export abstract class PeriodicService extends Service {
  private timer: Timer | undefined;
  private current: Promise<number | undefined> | undefined;
  /** A scheduled run (duty check included) is under way. */
  private firing = false;
  /** poke() came during a scheduled run: another follows it at once. */
  private again = false;
  private halted = false;

  constructor(
    protected readonly clock: Clock,
    protected readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly duty?: ClusterDuty,
  ) {
    super();
  }

  /** One run of the duty; it may return when the next run is due, if sooner than the interval. */
  protected abstract runOnce(): Promise<number | undefined> | Promise<void>;

  /** Runs the duty now, here, whoever holds it (tests, `offload` commands); waits for a run already in progress. */
  async runNow(): Promise<number | undefined> {
    if (this.current) await this.current;
    this.current = this.runOnce()
      .then((next) => next ?? undefined)
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }

  /** A scheduled run now, instead of at its time (what it acts on just changed in this process). */
  poke(): void {
    if (this.halted) return;
    if (this.firing) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.fire();
  }

  protected async onStart(): Promise<void> {
    this.arm();
  }

  protected async onStop(): Promise<void> {
    this.halted = true;
    this.timer?.cancel();
    await this.current?.catch(() => undefined);
  }

  /** The next scheduled run: after the interval, or at `nextAt` when that is sooner. */
  private arm(nextAt?: number): void {
    if (this.halted) return;
    const wait = nextAt === undefined ? this.intervalMs : Math.max(0, Math.min(nextAt - this.clock.now(), this.intervalMs));
    this.timer = this.clock.setTimer(() => this.fire(), wait);
  }

  private fire(): void {
    this.firing = true;
    this.scheduledRun()
      .catch((err: unknown) => {
        this.logger.error({ err, service: this.constructor.name }, 'maintenance run failed; will try again');
        return undefined;
      })
      .then((next) => {
        this.firing = false;
        if (this.again && !this.halted) {
          this.again = false;
          return this.fire();
        }
        this.arm(next);
      });
  }

  private async scheduledRun(): Promise<number | undefined> {
    if (this.duty && !(await this.duty.store.holdDuty({ duty: this.duty.name }))) return undefined;
    return this.runNow();
  }
}
