/**
 * The contract of every background loop (worker, rescuer, pruner, notifier…): `start()` and
 * `stop()` may be called in any order and any number of times; `stop()` before `start()` is a
 * no-op; a second `start()` while running returns the first start's promise.
 */
export abstract class Service {
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  get running(): boolean {
    return this.startPromise !== undefined && this.stopPromise === undefined;
  }

  start(): Promise<void> {
    if (this.stopPromise) return Promise.reject(new Error(`${this.constructor.name} was stopped; create a new one`));
    this.startPromise ??= this.onStart();
    return this.startPromise;
  }

  stop(): Promise<void> {
    if (!this.startPromise) return Promise.resolve();
    this.stopPromise ??= this.startPromise.catch(() => undefined).then(() => this.onStop());
    return this.stopPromise;
  }

  protected abstract onStart(): Promise<void>;
  protected abstract onStop(): Promise<void>;
}
