/**
 * What SQLite itself allows at the moment of the run, on Offload's own schema and pragmas, with
 * bare better-sqlite3 and no framework: awaited-equivalent single INSERTs (one transaction each,
 * W1's ceiling) and claim+complete turns of 10 (W3's ceiling: the same statements the store runs,
 * one transaction per turn). The machine's speed varies from minute to minute, so the bench
 * prints these next to its own figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../src/store/sqlite/connection.js';
import { SQLITE_QUERIES } from '../src/store/sqlite/sqlite-store.js';

export interface SqliteCeiling {
  insertsPerSecond: number;
  claimCompletesPerSecond: number;
}

const sql = (name: string) => SQLITE_QUERIES.get(name)!;

export function measureSqliteCeiling(synchronous?: 'normal' | 'full', n = 20_000): SqliteCeiling {
  const dir = mkdtempSync(join(tmpdir(), 'offload-bench-ceiling-'));
  const db = openSqlite(join(dir, 'bare.db'), { synchronous });
  try {
    db.prepare(sql('insert_task_if_missing')).run({
      name: 'bare',
      settings: '{}',
      concurrency: null,
      concurrencyPerKey: 1,
      rateLimit: null,
      ratePeriodMs: null,
      rateKey: null,
      now: 0,
    });
    const insert = db.prepare(sql('insert_job'));
    const claim = db.prepare(sql('claim_candidates_unblocked'));
    const mark = db.prepare(sql('mark_running'));
    const succeed = db.prepare(sql('succeed_job'));
    const now = Date.now();
    // An autocommit INSERT is one transaction, as Offload's single enqueue. The first rows warm up.
    const add = (i: number) => insert.run('bare', `{"i":${i}}`, 0, now, 1, null, null, null, null, null, now, null);
    for (let i = 0; i < 2000; i++) add(-i);
    let start = performance.now();
    for (let i = 0; i < n; i++) add(i);
    const insertMs = performance.now() - start;

    // The claim turns drain all of them, warm-up rows included (a drain of n + 2,000).
    start = performance.now();
    let held: { id: number; leaseToken: number }[] = [];
    let done = 0;
    for (;;) {
      const turn = db.transaction(() => {
        for (const j of held) succeed.run({ id: j.id, token: j.leaseToken, result: 'null', now });
        const ids = (claim.all({ task: 'bare', now, limit: 10 }) as { id: number }[]).map((r) => r.id);
        return ids.length
          ? (mark.all({ ids: JSON.stringify(ids), workerId: 'bare', leaseExpiresAt: now + 30_000, now }) as { id: number; leaseToken: number }[])
          : [];
      });
      done += held.length;
      held = turn.immediate();
      if (held.length === 0) break;
    }
    const turnsMs = performance.now() - start;
    return { insertsPerSecond: Math.round(n / (insertMs / 1000)), claimCompletesPerSecond: Math.round(done / (turnsMs / 1000)) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
