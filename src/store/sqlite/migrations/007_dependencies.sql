-- Dependencies: a job may wait for other jobs (src/core/dependencies.ts). It is stored 'waiting'
-- with deps_pending, the jobs it waits for that have not finished; each one that finishes settles
-- its edges in the same transaction, and the last makes it 'queued' (or ends it, by the edge's policy).
ALTER TABLE jobs ADD COLUMN step TEXT;            -- its step name in a flow
ALTER TABLE jobs ADD COLUMN deps_pending INTEGER; -- NULL: the job never waited for any
-- 1 once a job has dependents: only such jobs look for edges when they finish, so a job nobody
-- waits for pays one column read.
ALTER TABLE jobs ADD COLUMN has_dependents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN is_flow INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_deps (
  job_id INTEGER NOT NULL,  -- the waiting job
  dep_id INTEGER NOT NULL,  -- the job it waits for
  name   TEXT,              -- what the waiting job calls it (ctx.dependencies)
  policy TEXT NOT NULL,     -- cancel | fail | run: when dep_id fails or is cancelled
  PRIMARY KEY (job_id, dep_id)
) WITHOUT ROWID;
CREATE INDEX job_deps_by_dep ON job_deps (dep_id, job_id);

-- A unique key is held by a waiting job as by a queued or running one: released, it would
-- otherwise collide with a job submitted meanwhile under its key.
DROP INDEX jobs_unique;
CREATE UNIQUE INDEX jobs_unique ON jobs (task, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('waiting', 'queued', 'running');

-- A deleted job's own edges go with it (jobs that never waited skip the look-up).
CREATE TRIGGER jobs_deps_cleanup AFTER DELETE ON jobs WHEN old.deps_pending IS NOT NULL
  BEGIN DELETE FROM job_deps WHERE job_id = old.id; END;
