/**
 * Statements that must find their rows through an index, not by reading the whole jobs table
 * (which holds every finished job until it is pruned): checked with EXPLAIN QUERY PLAN on a real
 * SQLite file with Offload's schema.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../src/store/sqlite/connection.js';
import { SQLITE_QUERIES } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/stores.js';

function plan(db: Database.Database, name: string): string {
  const sql = SQLITE_QUERIES.get(name);
  assert.ok(sql, `no statement ${name}`);
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ uniqueKey: 'k' }) as { detail: string }[];
  return rows.map((r) => r.detail).join(' | ');
}

describe('SQLite query plans', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Database.Database | undefined;
  afterEach(() => {
    db?.close();
    dir.dispose();
  });

  it('finds jobs by unique key across tasks through jobs_unique, task by task', () => {
    dir = tempDir();
    db = openSqlite(join(dir.path, 'offload.db'));
    const p = plan(db, 'find_jobs_by_unique_key');
    assert.match(p, /SEARCH jobs USING INDEX jobs_unique \(task=\? AND unique_key=\?\)/, p);
    assert.doesNotMatch(p, /SCAN jobs/, p);
  });
});
