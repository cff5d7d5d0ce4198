-- How many queued jobs of a task each batch has (they count as cancelled when purged).
-- params: $1 task
SELECT batch_id AS "batchId", count(*)::integer AS n FROM jobs
WHERE task = $1 AND state = 'queued' AND batch_id IS NOT NULL GROUP BY batch_id ORDER BY batch_id
