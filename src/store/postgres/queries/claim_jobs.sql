-- A claim on its own (a worker's claims after results go with them, in finish_jobs).
-- params: $1 worker id, $2 tasks (array), $3 max, $4 lease ms, $5 now
SELECT id, task, input, input_bytes AS "inputBytes", attempt, max_attempts AS "maxAttempts", priority,
  timeout_ms AS "timeoutMs", batch_id AS "batchId", created_at AS "createdAt", lease_token AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt", unique_key AS "uniqueKey", dependencies
FROM claim_jobs($1, $2, $3, $4, $5)
