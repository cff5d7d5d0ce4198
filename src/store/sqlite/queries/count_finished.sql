SELECT task, state, count(*) AS count FROM jobs
WHERE state IN ('succeeded', 'failed', 'cancelled') GROUP BY task, state
