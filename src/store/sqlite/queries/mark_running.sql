-- Hands the chosen queued jobs to a worker with a fresh random fencing token each, and the
-- released ones a claim in the same transaction takes from waiting (none left to wait for).
-- params: :ids (JSON array), :workerId, :leaseExpiresAt, :now
UPDATE jobs
SET state = 'running', attempt = attempt + 1, worker_id = :workerId,
    lease_token = (random() & 4503599627370495), lease_expires_at = :leaseExpiresAt,
    started_at = :now, progress_done = NULL, progress_total = NULL, progress_message = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND (state = 'queued' OR (state = 'waiting' AND deps_pending <= 0))
RETURNING id, task, input, attempt, max_attempts AS maxAttempts, priority, timeout_ms AS timeoutMs,
  batch_id AS batchId, created_at AS createdAt, lease_token AS leaseToken, lease_expires_at AS leaseExpiresAt,
  unique_key AS uniqueKey, deps_pending IS NOT NULL AS hasDependencies
