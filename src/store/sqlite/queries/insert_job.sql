-- Inserts one queued job. Does nothing when a queued or running job of the task holds the
-- unique key (the caller then reads that job with find_unique_job).
-- params (positional): task, input, priority, run_at, max_attempts, timeout_ms, unique_key,
--                      concurrency_key, batch_id, origin, created_at
INSERT INTO jobs (task, state, input, priority, run_at, max_attempts, timeout_ms, unique_key,
                  concurrency_key, batch_id, origin, created_at)
VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
