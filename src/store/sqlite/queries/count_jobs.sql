-- Jobs per task and state, read from the counters the store keeps (migrations/012_job_counts.sql),
-- not by counting rows: as fast with ten million jobs as with ten.
-- params: :task or NULL for every task, :states (JSON array) or NULL for every state
SELECT task, state, n AS count FROM job_counts
WHERE n > 0 AND (:task IS NULL OR task = :task)
  AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
ORDER BY task, state
