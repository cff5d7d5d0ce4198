-- Hands the chosen queued jobs to a worker with a fresh random fencing token each.
-- params: :ids (JSON array), :workerId, :leaseExpiresAt, :now
UPDATE jobs
SET state = 'running', attempt = attempt + 1, worker_id = :workerId,
    lease_token = (random() & 4503599627370495), lease_expires_at = :leaseExpiresAt,
    started_at = :now, progress_done = NULL, progress_total = NULL, progress_message = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'queued'
RETURNING id, task, input, attempt, max_attempts AS maxAttempts, priority, timeout_ms AS timeoutMs,
  batch_id AS batchId, created_at AS createdAt, lease_token AS leaseToken, lease_expires_at AS leaseExpiresAt,
  unique_key AS uniqueKey, deps_pending IS NOT NULL AS hasDependencies
