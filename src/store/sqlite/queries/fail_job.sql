-- The attempt failed and no attempt is left (or the failure is permanent).
-- The token stays on the row (see succeed_job.sql).
-- params: :id, :token, :error (JSON), :now
UPDATE jobs
SET state = 'failed', error = :error, errors = {{APPEND_ERROR}}, finished_at = :now,
    lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING task, batch_id AS batchId, concurrency_key AS concurrencyKey, has_dependents AS hasDependents
