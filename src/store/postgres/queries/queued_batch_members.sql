-- How many jobs of a task in a state not started (queued or waiting) each batch has (they count as cancelled when purged).
-- params: $1 task, $2 state
SELECT batch_id AS "batchId", count(*)::integer AS n FROM jobs
WHERE task = $1 AND state = $2 AND batch_id IS NOT NULL GROUP BY batch_id ORDER BY batch_id
