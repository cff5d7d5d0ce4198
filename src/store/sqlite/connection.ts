import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError, StoreVersionError } from '../../core/errors.js';
import { loadMigrations } from '../sql-files.js';

export interface SqliteOptions {
  /** `normal` (default): survives any process crash; `full`: also survives power loss, slower. */
  synchronous?: 'normal' | 'full';
  /** How long a writer waits for another process's transaction (default 5000 ms). */
  busyTimeoutMs?: number;
}

/** The WAL size, in pages, at which a commit also checkpoints, when no thread does it. */
export const AUTOCHECKPOINT_PAGES = 4000;

/** Opens the database file with Offload's pragmas and brings its schema up to date. */
export function openSqlite(path: string, options: SqliteOptions = {}): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new StoreUnavailableError(`cannot open SQLite file ${path}: ${(err as Error).message}`, err);
  }
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536');
  db.pragma('foreign_keys = OFF');
  // Checkpoint less often than the default 1000 pages: fewer stalls in write-heavy bursts (a busy
  // store moves checkpoints to a thread of their own: see Checkpointer).
  db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  migrate(db);
  return db;
}

const MIGRATIONS = loadMigrations(new URL('./migrations/', import.meta.url));
export const SCHEMA_VERSION = MIGRATIONS.at(-1)![0];

/**
 * Applies missing migrations in one IMMEDIATE transaction each, so processes opening the same
 * file at once apply each migration once: the second waits for the lock, then sees the new version.
 */
function migrate(db: Database.Database): void {
  for (const [version, sql] of MIGRATIONS) {
    db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current > SCHEMA_VERSION) throw new StoreVersionError(current, SCHEMA_VERSION);
      if (current >= version) return;
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
