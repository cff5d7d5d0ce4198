/**
 * Checkpoints in a background thread. In WAL mode SQLite copies the log back into the database
 * file (and syncs it) inside whichever commit crosses `wal_autocheckpoint`: a stall of several
 * milliseconds on the thread that serves every request, at the p99 of every busy workload. A busy
 * store hands that work to a worker thread with its own connection instead, every so many
 * writes; the process's own autocheckpoint stays on, at a far higher mark, in case the thread
 * falls behind or dies.
 *
 * The thread starts only after a number of writes, so short-lived processes (a CLI command)
 * never pay for it, and checkpoints are asked for by writes, not by a timer: a checkpoint syncs
 * the log, and writers appending to it meanwhile wait, so an idle-ish store should not be
 * checkpointed every few milliseconds.
 */

import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { AUTOCHECKPOINT_PAGES } from './connection.js';

export interface CheckpointerOptions {
  /** Writes (transactions) before the thread starts (default 500). */
  afterWrites?: number;
  /** A checkpoint is asked for every this many writes (default 1000, close to SQLite's own 4000 pages). */
  everyWrites?: number;
  /** The process's own autocheckpoint mark, in pages, while the thread runs (default 50 000, about 200 MB). */
  backstopPages?: number;
}

const WORKER_URL = new URL('./checkpoint-worker.js', import.meta.url);

export class Checkpointer {
  private writes = 0;
  private worker: Worker | undefined;
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private readonly afterWrites: number;
  private readonly everyWrites: number;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly busyTimeoutMs: number,
    private readonly options: CheckpointerOptions = {},
  ) {
    this.afterWrites = options.afterWrites ?? 500;
    this.everyWrites = options.everyWrites ?? 1000;
  }

  /** Counts a write: starts the thread at the threshold, then asks it to checkpoint now and then. */
  wrote(): void {
    this.writes++;
    if (this.writes === this.afterWrites) this.start();
    else if (this.worker && !this.busy && this.writes % this.everyWrites === 0) {
      this.busy = true;
      this.worker.postMessage('checkpoint');
    }
  }

  private start(): void {
    const worker = new Worker(WORKER_URL, { workerData: { path: this.path, busyTimeoutMs: this.busyTimeoutMs } });
    worker.unref();
    worker.on('message', () => {
      this.busy = false;
      if (this.waiting.length === 0) return;
      worker.unref();
      for (const resolve of this.waiting.splice(0)) resolve();
    });
    // The thread is an optimisation: without it, the process checkpoints as before.
    worker.once('error', () => this.fallBack());
    worker.once('exit', () => this.fallBack());
    this.db.pragma(`wal_autocheckpoint = ${this.options.backstopPages ?? 50_000}`);
    this.worker = worker;
  }

  private fallBack(): void {
    if (!this.worker) return;
    this.worker = undefined;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }

  /** Whether the thread runs (it has started and not died). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Resolves when the thread finishes its next checkpoint (for tests and diagnostics). */
  nextCheckpoint(): Promise<void> {
    // Someone waits: the thread keeps the process alive until then.
    this.worker?.ref();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Stops the thread (before the store's own connection closes). */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage('stop');
    await exited;
  }
}
