-- params: :id, :now
UPDATE jobs
SET state = 'cancelled', finished_at = :now, lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND state IN ('waiting', 'queued', 'running')
RETURNING {{JOB_COLUMNS}}
