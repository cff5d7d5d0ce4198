-- Inserts one job already claimed by a worker (attempt 1, a fresh random fencing token): what
-- insert_job followed by a claim would leave, in one write. Returns nothing when a queued or
-- running job of the task holds the unique key, as insert_job. (A statement of its own, rather
-- than insert_job with the lease columns made optional: the queued insert is every enqueue's.)
-- params (positional): task, input, priority, run_at, max_attempts, timeout_ms, unique_key,
--                      concurrency_key, batch_id, origin, created_at, started_at, worker_id,
--                      lease_expires_at, trace_context
INSERT INTO jobs (id, task, state, input, priority, run_at, max_attempts, timeout_ms, unique_key,
                  concurrency_key, batch_id, origin, created_at, started_at, attempt, worker_id,
                  lease_expires_at, lease_token, trace_context)
VALUES (max(coalesce((SELECT max(id) FROM jobs), 0), (SELECT value FROM id_floor WHERE name = 'jobs')) + 1,
        ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, random() & 4503599627370495, ?)
ON CONFLICT DO NOTHING
RETURNING id, lease_token AS leaseToken
