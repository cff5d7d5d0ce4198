-- Deletes up to $4 jobs of one task and final state that finished before $3; returns how many.
-- Not a job that a job still to run waits for (its handler reads the result); a deleted job's own
-- edges go with it. By id through the primary key: planned once for any $4, a join could become a
-- scan of the table.
-- params: $1 task, $2 state, $3 cutoff, $4 limit
WITH gone AS (
  DELETE FROM jobs WHERE id = ANY (ARRAY(
    SELECT id FROM jobs
    WHERE task = $1 AND state = $2 AND finished_at IS NOT NULL AND finished_at < $3
      AND (NOT has_dependents OR NOT EXISTS (
        SELECT 1 FROM job_deps d JOIN jobs w ON w.id = d.job_id
        WHERE d.dep_id = jobs.id AND w.state IN ('waiting', 'queued', 'running')))
    LIMIT $4
    FOR UPDATE SKIP LOCKED))
  RETURNING id, deps_pending
), edges AS (
  DELETE FROM job_deps d WHERE d.job_id = ANY (ARRAY(SELECT g.id FROM gone g WHERE g.deps_pending IS NOT NULL))
)
SELECT count(*)::integer AS n FROM gone
