-- How many jobs of a task in a state not started (queued or waiting) each batch has (they count as cancelled when purged).
-- params: :task, :state
SELECT batch_id AS batchId, count(*) AS n FROM jobs
WHERE task = :task AND state = :state AND batch_id IS NOT NULL GROUP BY batch_id
