-- The token stays on the row: a repeated delivery of this result is recognised (see
-- alreadyRecorded in src/core/transitions.ts); every fence also requires state = 'running'.
-- params: :id, :token, :result, :now
UPDATE jobs
SET state = 'succeeded', result = :result, error = NULL, finished_at = :now,
    lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING task, batch_id AS batchId, concurrency_key AS concurrencyKey, has_dependents AS hasDependents
