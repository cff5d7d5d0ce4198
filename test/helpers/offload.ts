import type { EventName, OffloadEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/logger.js';
import { Offload, type OffloadOptions } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { postgresFactory } from './postgres.js';
import { type StoreFactory, type StoreFixture, sqliteFactory } from './stores.js';

export interface TestOffload {
  offload: Offload;
  clock: ManualClock;
  fixture: StoreFixture;
  /** Another Offload on the same database (a second process, as far as the store can tell). */
  another(opts?: OffloadOptions): Promise<Offload>;
  dispose(): Promise<void>;
}

/**
 * The store behaviour tests run on unless they name one: SQLite, or PostgreSQL when the file runs
 * under test/on-postgres/ (which sets OFFLOAD_TEST_STORE before loading it).
 */
export function defaultFactory(): StoreFactory {
  return process.env.OFFLOAD_TEST_STORE === 'postgres' ? postgresFactory : sqliteFactory;
}

/** An Offload on a fresh database (see defaultFactory) with a manual clock and no logging. */
export async function openTestOffload(opts: OffloadOptions & { factory?: StoreFactory } = {}): Promise<TestOffload> {
  const fixture = await (opts.factory ?? defaultFactory())();
  const clock = opts.clock instanceof ManualClock ? opts.clock : new ManualClock();
  const offload = await Offload.open({ logger: silentLogger, ...opts, clock, store: fixture.url });
  // Over the network, what a timer starts takes real time: the clock waits for it (see ManualClock).
  const remote = fixture.url.startsWith('postgres');
  if (remote) clock.waitWhileBusy(() => offload.storeBusy);
  const others: Offload[] = [];
  return {
    offload,
    clock,
    fixture,
    async another(more = {}) {
      const o = await Offload.open({ logger: silentLogger, clock, ...more, store: fixture.url });
      if (remote) clock.waitWhileBusy(() => o.storeBusy);
      others.push(o);
      return o;
    },
    async dispose() {
      await Promise.all([offload, ...others].map((o) => o.close()));
      await fixture.dispose();
    },
  };
}

/** Resolves with the first event of this name that matches. */
export function nextEvent<K extends EventName>(offload: Offload, name: K, match: (e: OffloadEvents[K]) => boolean = () => true): Promise<OffloadEvents[K]> {
  return new Promise((resolve) => {
    const off = offload.on(name, (e) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}
