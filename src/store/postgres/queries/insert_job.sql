-- Inserts one job: queued, waiting (with $16 deps_pending), or (with $13 worker_id) already claimed
-- by that worker, attempt 1 with a fresh random fencing token, what a claim would leave. Returns
-- nothing when a waiting, queued or running job of the task holds the unique key (the caller then
-- reads that job with find_unique_jobs).
-- params: $1 task, $2 input (JSON text) | $3 input_bytes, $4 priority, $5 run_at, $6 max_attempts,
--         $7 timeout_ms, $8 unique_key, $9 concurrency_key, $10 batch_id, $11 origin, $12 created_at,
--         $13 worker_id (null: queued), $14 lease_expires_at, $15 step, $16 deps_pending (null: not
--         waiting), $17 has_dependents, $18 trace_context
INSERT INTO jobs (task, state, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key,
                  concurrency_key, batch_id, origin, created_at, attempt, worker_id, lease_token, lease_expires_at, started_at,
                  step, deps_pending, deps_total, has_dependents, trace_context)
VALUES ($1, CASE WHEN $13::text IS NOT NULL THEN 'running' WHEN $16::integer IS NOT NULL THEN 'waiting' ELSE 'queued' END, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
        CASE WHEN $13::text IS NULL THEN 0 ELSE 1 END, $13,
        CASE WHEN $13::text IS NULL THEN NULL ELSE (random() * 4503599627370495)::bigint END,
        $14, CASE WHEN $13::text IS NULL THEN NULL ELSE $12::bigint END,
        $15, $16, $16, coalesce($17::boolean, false), $18)
ON CONFLICT DO NOTHING
RETURNING id::text AS id, lease_token::text AS "leaseToken"
