-- Puts a failed or cancelled job back in the queue as a fresh job (attempts start over).
-- params: $1 id, $2 now
UPDATE jobs
SET state = 'queued', attempt = 0, retried = retried + 1, run_at = $2, result = NULL, result_bytes = NULL, error = NULL,
    finished_at = NULL, started_at = NULL, worker_id = NULL, lease_token = NULL,
    progress_done = NULL, progress_total = NULL, progress_message = NULL
WHERE id = $1 AND state IN ('failed', 'cancelled')
RETURNING {{JOB_COLUMNS}}
