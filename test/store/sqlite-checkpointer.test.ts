/**
 * The SQLite store's background checkpoints: a busy store copies its WAL into the database file
 * from a thread of its own, a quiet or short-lived one never starts that thread, and a dead
 * thread hands the job back to SQLite's own autocheckpoint. Real files, a real worker thread.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import type { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/connection.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newJob } from '../conformance/store-suite.js';
import { tempDir } from '../helpers/stores.js';

const T0 = Date.UTC(2026, 0, 1);

/** The store's private parts this test looks at. */
function inside(store: SqliteStore): { checkpointer: Checkpointer; db: Database.Database } {
  return store as unknown as { checkpointer: Checkpointer; db: Database.Database };
}

async function writeJobs(store: SqliteStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.insertJobs({ jobs: [newJob({ input: `"${'x'.repeat(2000)}${i}"` })], now: T0 });
}

describe('SQLite background checkpoints', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir.dispose();
  });

  it('copies the WAL into the database file from its own thread once the store is busy', async () => {
    dir = tempDir();
    const path = join(dir.path, 'offload.db');
    store = new SqliteStore(path, { checkpoints: { afterWrites: 5, everyWrites: 10 } });
    const { checkpointer, db } = inside(store);
    await writeJobs(store, 4);
    assert.equal(checkpointer.running, false, 'not before the threshold');
    const sizeBefore = statSync(path).size;
    await writeJobs(store, 1);
    assert.equal(checkpointer.running, true);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 50_000, "SQLite's own checkpoints only as a backstop");
    const checkpointed = checkpointer.nextCheckpoint();
    await writeJobs(store, 10);
    await checkpointed;
    assert.ok(statSync(path).size > sizeBefore, 'the pages reached the database file');
    assert.equal((await store.listJobs({ limit: 100 })).length, 15);
  });

  it("falls back to SQLite's own checkpoints when the thread dies, and stops the thread on close", async () => {
    dir = tempDir();
    const path = join(dir.path, 'offload.db');
    store = new SqliteStore(path, { checkpoints: { afterWrites: 2 } });
    const { checkpointer, db } = inside(store);
    await writeJobs(store, 2);
    assert.equal(checkpointer.running, true);
    const worker = (checkpointer as unknown as { worker: { ref(): void; terminate(): Promise<number> } }).worker;
    worker.ref();
    await worker.terminate();
    assert.equal(checkpointer.running, false);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), AUTOCHECKPOINT_PAGES);
    await writeJobs(store, 3);
    await store.close();
    store = new SqliteStore(path, { checkpoints: { afterWrites: 1 } });
    await writeJobs(store, 1);
    assert.equal(inside(store).checkpointer.running, true);
    await store.close();
    assert.equal(inside(store).checkpointer.running, false, 'closed with its store');
    store = undefined;
  });
});
