-- Cancels a batch's jobs that have not started, locked in id order. params: $1 batch id, $2 now
UPDATE jobs SET state = 'cancelled', finished_at = $2
WHERE id = ANY (ARRAY(SELECT j.id FROM jobs j WHERE j.batch_id = $1 AND j.state IN ('waiting', 'queued') ORDER BY j.id FOR UPDATE))
  AND state IN ('waiting', 'queued')
RETURNING id::text AS id, task, has_dependents AS "hasDependents", concurrency_key AS "concurrencyKey"
