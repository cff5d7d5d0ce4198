-- params: $1 task, $2 state; returns how many were deleted
WITH gone AS (DELETE FROM jobs WHERE task = $1 AND state = $2 RETURNING 1)
SELECT count(*)::integer AS n FROM gone
