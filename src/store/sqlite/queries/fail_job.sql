-- The attempt failed and no attempt is left (or the failure is permanent).
-- params: :id, :token, :error (JSON), :now
UPDATE jobs
SET state = 'failed', error = :error, errors = {{APPEND_ERROR}}, finished_at = :now,
    lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING task, batch_id AS batchId
