-- Deletes those of these jobs that are finished and that no job still to run waits for (its
-- handler reads the result), as the pruner judges; a deleted job's own edges go with it. Says
-- for each job found whether it was deleted. params: $1 ids (array)
WITH asked AS (
  SELECT id, state, has_dependents FROM jobs WHERE id = ANY ($1::bigint[]) ORDER BY jobs.id FOR UPDATE
), gone AS (
  DELETE FROM jobs WHERE id = ANY (ARRAY(
    SELECT a.id FROM asked a
    WHERE a.state IN ('succeeded', 'failed', 'cancelled') AND (NOT a.has_dependents OR NOT EXISTS (
      SELECT 1 FROM job_deps d JOIN jobs w ON w.id = d.job_id
      WHERE d.dep_id = a.id AND w.state IN ('waiting', 'queued', 'running')))))
  RETURNING id, deps_pending
), edges AS (
  DELETE FROM job_deps d WHERE d.job_id = ANY (ARRAY(SELECT g.id FROM gone g WHERE g.deps_pending IS NOT NULL))
)
SELECT a.id::text AS id, EXISTS (SELECT 1 FROM gone g WHERE g.id = a.id) AS deleted FROM asked a
