-- Inserts one queued job. Returns nothing when a queued or running job of the task holds the
-- unique key (the caller then reads that job with find_unique_jobs).
-- params: $1 task, $2 input (JSON text) | $3 input_bytes, $4 priority, $5 run_at, $6 max_attempts,
--         $7 timeout_ms, $8 unique_key, $9 concurrency_key, $10 batch_id, $11 origin, $12 created_at
INSERT INTO jobs (task, state, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key,
                  concurrency_key, batch_id, origin, created_at)
VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT DO NOTHING
RETURNING id::text AS id
