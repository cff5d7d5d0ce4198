-- Offload schema, version 1 (SQLite). Times are milliseconds since the Unix epoch.

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after pruning
  task             TEXT    NOT NULL,
  state            TEXT    NOT NULL,                  -- queued | running | succeeded | failed | cancelled
  input            BLOB    NOT NULL,                  -- JSON text (TEXT) or raw bytes (BLOB)
  result           BLOB,
  error            TEXT,                              -- JSON of the latest attempt's error
  errors           TEXT,                              -- JSON array of past attempts' errors (bounded)
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  timeout_ms       INTEGER,
  unique_key       TEXT,
  concurrency_key  TEXT,
  batch_id         INTEGER,
  origin           TEXT,
  worker_id        TEXT,
  lease_token      INTEGER,
  lease_expires_at INTEGER,
  progress_done    REAL,
  progress_total   REAL,
  progress_message TEXT,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER
);

-- What a claim reads: the next queued jobs of one task, best priority first, then oldest run_at.
CREATE INDEX jobs_queued ON jobs (task, priority DESC, run_at, id) WHERE state = 'queued';
-- Running jobs per task and key: concurrency limits and lease reaping.
CREATE INDEX jobs_running ON jobs (task, concurrency_key) WHERE state = 'running';
-- A unique key holds while its job is queued or running.
CREATE UNIQUE INDEX jobs_unique ON jobs (task, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX jobs_batch ON jobs (batch_id, id) WHERE batch_id IS NOT NULL;
-- Finished jobs: counts, listings and pruning by age.
CREATE INDEX jobs_finished ON jobs (task, state, finished_at)
  WHERE state IN ('succeeded', 'failed', 'cancelled');

CREATE TABLE batches (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  title        TEXT,
  total        INTEGER NOT NULL,
  succeeded    INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  cancelled    INTEGER NOT NULL DEFAULT 0,
  on_finish    TEXT,             -- JSON of the job to enqueue when the batch finishes
  on_finish_job_id INTEGER,      -- set once, when that job was enqueued
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER
);

CREATE TABLE tasks (
  name          TEXT PRIMARY KEY,
  settings      TEXT NOT NULL,   -- JSON: maxAttempts, priority, timeoutMs, concurrency, retention, backoff, inputSchema
  concurrency   INTEGER,         -- max running at once across all workers (NULL: no limit)
  concurrency_per_key INTEGER NOT NULL DEFAULT 1,
  paused_until  INTEGER,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE workers (
  id           TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  host         TEXT,
  pid          INTEGER,
  tasks        TEXT NOT NULL,    -- JSON array of task names
  concurrency  INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
