-- Counts the store keeps, so reading them never counts rows (a dashboard over 10 million jobs):
-- jobs per task and state, and per task and minute the jobs that finished (succeeded, failed for
-- good) and the failed attempts that were retried.
--
-- Kept by statement-level triggers over the transition tables, which see every path that changes
-- a job (insert, claim, outcome, reaping, cancel, retry, purge, prune, a waiting job released or
-- ended) without any of them having to remember. A trigger does not update a counter row: every
-- finisher would then take that row's lock and hold it to its commit, so the group-commit writers
-- of every process would run one at a time. It appends the statement's net change per (task,
-- state) to an insert-only table of deltas (no lock anyone else waits for); the counter-folder
-- duty (maintenance/counter-folder.ts, one process of the cluster at a time) moves them into the
-- totals every second, in one statement. A read adds the totals and the deltas not yet folded,
-- under one snapshot, so it is exact whenever it runs.
-- No job may change between the count below and the triggers' creation (a process of the
-- previous version may be writing): writes wait for this migration's commit; reads go on.
LOCK TABLE jobs IN EXCLUSIVE MODE;

CREATE TABLE job_counts (
  task  text   NOT NULL,
  state text   NOT NULL,
  n     bigint NOT NULL,
  PRIMARY KEY (task, state)
);
CREATE TABLE job_count_deltas (
  task  text   NOT NULL,
  state text   NOT NULL,
  n     bigint NOT NULL
);
-- minute: the start of the minute, in ms. A finish is counted in the minute of its finished_at; a
-- retry in the minute of its error's `at` (the row keeps no other time of it). Buckets older than
-- a day go with the pruner; purging or pruning jobs leaves them.
CREATE TABLE job_throughput (
  minute    bigint NOT NULL,
  task      text   NOT NULL,
  succeeded bigint NOT NULL,
  failed    bigint NOT NULL,
  retried   bigint NOT NULL,
  PRIMARY KEY (minute, task)
);
CREATE TABLE job_throughput_deltas (
  minute    bigint NOT NULL,
  task      text   NOT NULL,
  succeeded bigint NOT NULL,
  failed    bigint NOT NULL,
  retried   bigint NOT NULL
);
-- The delta tables are emptied every second: vacuum them after a few thousand dead rows, not 20%.
ALTER TABLE job_count_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
ALTER TABLE job_throughput_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

-- From the rows already there (the migration runs in one transaction, before any trigger exists).
INSERT INTO job_counts (task, state, n) SELECT task, state, count(*) FROM jobs GROUP BY task, state;
INSERT INTO job_throughput (minute, task, succeeded, failed, retried)
  SELECT finished_at - finished_at % 60000, task, count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state = 'failed'), 0
  FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at IS NOT NULL GROUP BY 1, 2;

CREATE FUNCTION job_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas (task, state, n) SELECT task, state, count(*) FROM new_jobs GROUP BY task, state;
  -- Jobs stored already ended (a job they wait for had failed).
  INSERT INTO job_throughput_deltas (minute, task, succeeded, failed, retried)
    SELECT finished_at - finished_at % 60000, task, count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state = 'failed'), 0
    FROM new_jobs WHERE state IN ('succeeded', 'failed') AND finished_at IS NOT NULL GROUP BY 1, 2;
  RETURN NULL;
END $$;

CREATE FUNCTION job_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas (task, state, n) SELECT task, state, -count(*) FROM old_jobs GROUP BY task, state;
  RETURN NULL;
END $$;

-- Most updates change no state (heartbeats, progress): their net change per (task, state) is
-- zero and nothing is written. Only a statement that may have finished or requeued jobs joins
-- old and new rows by id, to count each change once.
CREATE FUNCTION job_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas (task, state, n)
    SELECT task, state, sum(d) FROM (
      SELECT task, state, 1 AS d FROM new_jobs UNION ALL SELECT task, state, -1 FROM old_jobs) x
    GROUP BY task, state HAVING sum(d) <> 0;
  IF EXISTS (SELECT 1 FROM new_jobs WHERE state IN ('succeeded', 'failed', 'queued')) THEN
    INSERT INTO job_throughput_deltas (minute, task, succeeded, failed, retried)
      SELECT e.minute, e.task, count(*) FILTER (WHERE e.kind = 's'), count(*) FILTER (WHERE e.kind = 'f'), count(*) FILTER (WHERE e.kind = 'r')
      FROM (
        SELECT CASE WHEN n.state = 'queued'
                    THEN (floor(extract(epoch FROM (n.error::jsonb ->> 'at')::timestamptz) * 1000)::bigint / 60000) * 60000
                    ELSE n.finished_at - n.finished_at % 60000 END AS minute,
          n.task, CASE n.state WHEN 'succeeded' THEN 's' WHEN 'failed' THEN 'f' ELSE 'r' END AS kind
        FROM new_jobs n JOIN old_jobs o ON o.id = n.id
        WHERE o.state IS DISTINCT FROM n.state
          AND ((n.state IN ('succeeded', 'failed') AND n.finished_at IS NOT NULL)
            -- A failed attempt sent back to the queue: its attempt counts (a release gives it back).
            OR (n.state = 'queued' AND o.state = 'running' AND n.attempt = o.attempt AND n.error IS NOT NULL
              AND n.error::jsonb ? 'at'))
      ) e
      GROUP BY e.minute, e.task;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER job_counts_inserted AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION job_counts_inserted();
CREATE TRIGGER job_counts_deleted AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION job_counts_deleted();
CREATE TRIGGER job_counts_updated AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION job_counts_updated();

-- The dashboard's list of a task's failed jobs, newest first, without walking the other jobs
-- (list_jobs is planned with its values, so the planner sees state = 'failed'): partial, so a job
-- that never fails never writes to it.
CREATE INDEX jobs_failed ON jobs (task, id) WHERE state = 'failed';
