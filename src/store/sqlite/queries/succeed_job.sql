-- params: :id, :token, :result, :now
UPDATE jobs
SET state = 'succeeded', result = :result, error = NULL, finished_at = :now,
    lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING task, batch_id AS batchId
