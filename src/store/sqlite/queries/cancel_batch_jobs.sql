-- Cancels a batch's jobs that have not started. params: :batchId, :now
UPDATE jobs
SET state = 'cancelled', finished_at = :now
WHERE batch_id = :batchId AND state IN ('waiting', 'queued')
RETURNING id, task, has_dependents AS hasDependents, concurrency_key AS concurrencyKey
