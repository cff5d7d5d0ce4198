-- Hands the chosen queued jobs to a worker with a fresh random fencing token each.
-- params: :ids (JSON array), :workerId, :leaseExpiresAt, :now
UPDATE jobs
SET state = 'running', attempt = attempt + 1, worker_id = :workerId,
    lease_token = (random() & 4503599627370495), lease_expires_at = :leaseExpiresAt,
    started_at = :now, progress_done = NULL, progress_total = NULL, progress_message = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'queued'
RETURNING {{JOB_COLUMNS}}, lease_token AS leaseToken
