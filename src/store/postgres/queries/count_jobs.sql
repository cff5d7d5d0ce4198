-- Jobs per task and state, each part read from the index that covers it.
-- params: $1 task or NULL for every task
SELECT task, 'queued' AS state, count(*)::integer AS count FROM jobs
WHERE state = 'queued' AND ($1::text IS NULL OR task = $1) GROUP BY task
UNION ALL
SELECT task, 'running', count(*)::integer FROM jobs
WHERE state = 'running' AND ($1::text IS NULL OR task = $1) GROUP BY task
UNION ALL
SELECT task, state, count(*)::integer FROM jobs
WHERE finished_at IS NOT NULL AND state IN ('succeeded', 'failed', 'cancelled') AND ($1::text IS NULL OR task = $1)
GROUP BY task, state
