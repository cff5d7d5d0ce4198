-- Failed jobs finished at or after $2, grouped by task and error message, most recent first.
-- Reads the finished index (task, state, finished_at). params: $1 task (or NULL), $2 since, $3 limit
SELECT task, coalesce(error::jsonb ->> 'message', '') AS message, count(*)::integer AS count,
  max(finished_at) AS "lastAt", max(id)::text AS "sampleJobId"
FROM jobs
WHERE state = 'failed' AND finished_at IS NOT NULL AND finished_at >= $2 AND ($1::text IS NULL OR task = $1)
GROUP BY task, 2
ORDER BY "lastAt" DESC, task, message
LIMIT $3
