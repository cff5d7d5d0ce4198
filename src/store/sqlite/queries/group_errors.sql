-- Failed jobs finished at or after :since, grouped by task and error message, most recent first.
-- Reads the finished index (task, state, finished_at): one range per task.
-- params: :task (or NULL for every task), :since, :limit
SELECT task, coalesce(json_extract(error, '$.message'), '') AS message, count(*) AS count,
  max(finished_at) AS lastAt, max(id) AS sampleJobId
FROM jobs
WHERE state = 'failed' AND finished_at IS NOT NULL AND finished_at >= :since AND (:task IS NULL OR task = :task)
GROUP BY task, message
ORDER BY lastAt DESC, task, message
LIMIT :limit
