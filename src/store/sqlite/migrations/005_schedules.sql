-- Schedules: cron rules that enqueue a task. next_tick_at is the cursor, the earliest tick not yet
-- handled; a tick is recorded only by the transaction that moves the cursor past it, so any number
-- of processes may try and one job results (the job also carries the tick's submit key).
CREATE TABLE schedules (
  name           TEXT PRIMARY KEY,
  task           TEXT    NOT NULL,
  cron           TEXT    NOT NULL,
  timezone       TEXT,
  input          TEXT    NOT NULL,   -- JSON text
  overlap        TEXT    NOT NULL,   -- skip | allow
  catch_up       TEXT    NOT NULL,   -- none | latest | all
  catch_up_limit INTEGER NOT NULL,
  jitter_ms      INTEGER NOT NULL,
  priority       INTEGER,
  description    TEXT,
  paused         INTEGER NOT NULL DEFAULT 0,
  next_tick_at   INTEGER,
  last_tick_at   INTEGER,
  last_job_id    INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedules_due ON schedules (next_tick_at) WHERE paused = 0 AND next_tick_at IS NOT NULL;
