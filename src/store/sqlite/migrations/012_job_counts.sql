-- Counts the store keeps, so reading them never counts rows (a dashboard over 10 million jobs):
-- jobs per task and state, and per task and minute the jobs that finished (succeeded, failed for
-- good) and the failed attempts that were retried. Kept by triggers: SQLite has one writer at a
-- time, so a counter row is never contended, and a trigger sees every path that changes a job
-- (insert, claim, outcome, reaping, cancel, retry, purge, prune, a waiting job released or
-- ended) without any of them having to remember. Rows reaching 0 stay (a read skips them).
CREATE TABLE job_counts (
  task  TEXT    NOT NULL,
  state TEXT    NOT NULL,
  n     INTEGER NOT NULL,
  PRIMARY KEY (task, state)
) WITHOUT ROWID;
INSERT INTO job_counts (task, state, n) SELECT task, state, count(*) FROM jobs GROUP BY task, state;

CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO job_counts (task, state, n) VALUES (new.task, new.state, 1)
    ON CONFLICT (task, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs BEGIN
  UPDATE job_counts SET n = n - 1 WHERE task = old.task AND state = old.state;
END;
CREATE TRIGGER job_counts_update AFTER UPDATE OF state, task ON jobs
  WHEN old.state IS NOT new.state OR old.task IS NOT new.task BEGIN
  UPDATE job_counts SET n = n - 1 WHERE task = old.task AND state = old.state;
  INSERT INTO job_counts (task, state, n) VALUES (new.task, new.state, 1)
    ON CONFLICT (task, state) DO UPDATE SET n = n + 1;
END;

-- minute: the start of the minute, in ms. A finish is counted in the minute of its finished_at;
-- a retry in the minute of its error's `at` (the row keeps no other time of it). Buckets older
-- than a day go with the pruner (prune_throughput.sql); purging or pruning jobs leaves them.
CREATE TABLE job_throughput (
  minute    INTEGER NOT NULL,
  task      TEXT    NOT NULL,
  succeeded INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  retried   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, task)
) WITHOUT ROWID;
INSERT INTO job_throughput (minute, task, succeeded, failed)
  SELECT CAST(finished_at AS INTEGER) / 60000 * 60000, task, sum(state = 'succeeded'), sum(state = 'failed')
  FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at IS NOT NULL GROUP BY 1, 2;

CREATE TRIGGER job_throughput_finished AFTER UPDATE OF state ON jobs
  WHEN new.state IN ('succeeded', 'failed') AND old.state IS NOT new.state AND new.finished_at IS NOT NULL BEGIN
  INSERT INTO job_throughput (minute, task, succeeded, failed)
    VALUES (CAST(new.finished_at AS INTEGER) / 60000 * 60000, new.task, new.state = 'succeeded', new.state = 'failed')
    ON CONFLICT (minute, task) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed;
END;
-- Jobs stored already ended (a job they wait for had failed).
CREATE TRIGGER job_throughput_inserted AFTER INSERT ON jobs
  WHEN new.state IN ('succeeded', 'failed') AND new.finished_at IS NOT NULL BEGIN
  INSERT INTO job_throughput (minute, task, succeeded, failed)
    VALUES (CAST(new.finished_at AS INTEGER) / 60000 * 60000, new.task, new.state = 'succeeded', new.state = 'failed')
    ON CONFLICT (minute, task) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed;
END;
-- A failed attempt sent back to the queue: its attempt counts (a release gives it back).
CREATE TRIGGER job_throughput_retried AFTER UPDATE OF state ON jobs
  WHEN old.state = 'running' AND new.state = 'queued' AND new.attempt = old.attempt
    AND json_extract(new.error, '$.at') IS NOT NULL BEGIN
  INSERT INTO job_throughput (minute, task, retried)
    VALUES (CAST(round((julianday(json_extract(new.error, '$.at')) - 2440587.5) * 86400000) AS INTEGER) / 60000 * 60000, new.task, 1)
    ON CONFLICT (minute, task) DO UPDATE SET retried = retried + 1;
END;

-- The dashboard's list of a task's failed jobs, newest first, without walking the other jobs:
-- partial, so a job that never fails never writes to it.
CREATE INDEX jobs_failed ON jobs (task, id) WHERE state = 'failed';
