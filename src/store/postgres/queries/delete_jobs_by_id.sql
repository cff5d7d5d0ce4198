-- params: $1 ids (array)
WITH gone AS (DELETE FROM jobs WHERE id = ANY ($1::bigint[]) RETURNING id, deps_pending),
edges AS (DELETE FROM job_deps d WHERE d.job_id = ANY (ARRAY(SELECT g.id FROM gone g WHERE g.deps_pending IS NOT NULL)))
SELECT count(*)::integer AS n FROM gone
