/**
 * Runs in a worker thread (see checkpointer.ts): copies the WAL back into the database file when
 * asked, without blocking the process's writers, so that the process's own thread never stalls
 * on it.
 */

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const db = new Database(path, { timeout: busyTimeoutMs });
const port = parentPort!;

port.on('message', (message: 'checkpoint' | 'stop') => {
  if (message === 'stop') {
    db.close();
    port.close();
    return;
  }
  try {
    // PASSIVE: copies what no reader still needs; never waits for readers or writers.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (another process is checkpointing) or briefly unavailable: the next request catches up.
  }
  port.postMessage('checkpointed');
});
