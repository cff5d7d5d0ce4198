-- Running jobs whose worker stopped heartbeating.
-- params: :now, :limit
SELECT id, task, attempt, max_attempts AS maxAttempts, batch_id AS batchId, lease_token AS leaseToken, concurrency_key AS concurrencyKey
FROM jobs WHERE state = 'running' AND lease_expires_at < :now
LIMIT :limit
