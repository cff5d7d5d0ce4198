-- Transitions (arrays, one element each): $1 ids, $2 lease tokens, $3 target states, $4 results (text),
-- $5 results (bytes), $6 errors (JSON), $7 run_at (requeues), $8 refunds (1: the attempt does not count);
-- $9 now; claim in the same transaction: $10 worker id, $11 tasks, $12 max (0: no claim), $13 lease ms, $14 claim now
SELECT kind, ord, task, id, input, input_bytes AS "inputBytes", attempt, max_attempts AS "maxAttempts", priority,
  timeout_ms AS "timeoutMs", batch_id AS "batchId", created_at AS "createdAt", lease_token AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt", unique_key AS "uniqueKey", extra, concurrency_key AS "concurrencyKey",
  dependencies
FROM finish_jobs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
