-- Jobs per task and state, each part read from the index that covers it; parts for states not
-- asked for are not read at all.
-- params: $1 task or NULL for every task, $2 states (array) or NULL for every state
SELECT task, 'queued' AS state, count(*)::integer AS count FROM jobs
WHERE ($2::text[] IS NULL OR 'queued' = ANY ($2)) AND state = 'queued' AND ($1::text IS NULL OR task = $1) GROUP BY task
UNION ALL
SELECT task, 'running', count(*)::integer FROM jobs
WHERE ($2::text[] IS NULL OR 'running' = ANY ($2)) AND state = 'running' AND ($1::text IS NULL OR task = $1) GROUP BY task
UNION ALL
SELECT task, state, count(*)::integer FROM jobs
WHERE finished_at IS NOT NULL AND state IN ('succeeded', 'failed', 'cancelled') AND ($1::text IS NULL OR task = $1)
  AND ($2::text[] IS NULL OR state = ANY ($2))
GROUP BY task, state
