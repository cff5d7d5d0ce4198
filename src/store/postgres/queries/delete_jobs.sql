-- params: $1 task, $2 state; returns how many were deleted (a deleted job's own edges go with it)
WITH gone AS (DELETE FROM jobs WHERE task = $1 AND state = $2 RETURNING id, deps_pending),
edges AS (DELETE FROM job_deps d WHERE d.job_id = ANY (ARRAY(SELECT g.id FROM gone g WHERE g.deps_pending IS NOT NULL)))
SELECT count(*)::integer AS n FROM gone
