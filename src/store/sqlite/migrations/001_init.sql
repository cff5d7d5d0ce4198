-- Offload schema, version 1 (SQLite). Times are milliseconds since the Unix epoch.

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,               -- never reused: see id_floor
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
-- Finished jobs: counts, listings and pruning by age. (A partial index on finished_at IS NOT NULL
-- is markedly cheaper to maintain than one on state IN (...): measured 51k vs 44k claim+complete/s.)
CREATE INDEX jobs_finished ON jobs (task, state, finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE batches (
  id           INTEGER PRIMARY KEY,
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

-- Job ids are never reused, even when the newest jobs are purged. AUTOINCREMENT would do it at
-- the cost of one more page written per commit (measured: 23k vs 19k inserts/s); instead the
-- highest id ever deleted is remembered here and new ids start above it.
CREATE TABLE id_floor (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO id_floor VALUES ('jobs', 0), ('batches', 0);
CREATE TRIGGER jobs_id_floor AFTER DELETE ON jobs
  WHEN old.id > (SELECT value FROM id_floor WHERE name = 'jobs')
  BEGIN UPDATE id_floor SET value = old.id WHERE name = 'jobs'; END;
CREATE TRIGGER batches_id_floor AFTER DELETE ON batches
  WHEN old.id > (SELECT value FROM id_floor WHERE name = 'batches')
  BEGIN UPDATE id_floor SET value = old.id WHERE name = 'batches'; END;
