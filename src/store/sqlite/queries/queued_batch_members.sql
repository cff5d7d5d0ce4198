-- How many queued jobs of a task each batch has (they count as cancelled when purged).
-- params: :task
SELECT batch_id AS batchId, count(*) AS n FROM jobs
WHERE task = :task AND state = 'queued' AND batch_id IS NOT NULL GROUP BY batch_id
