-- Inserts one queued job. Does nothing when a queued or running job of the task holds the
-- unique key (the caller then reads that job with find_unique_job). The id is one above both
-- the highest id in the table and the highest id ever deleted (id_floor), so ids never repeat.
-- params (positional): task, input, priority, run_at, max_attempts, timeout_ms, unique_key,
--                      concurrency_key, batch_id, origin, created_at, trace_context
INSERT INTO jobs (id, task, state, input, priority, run_at, max_attempts, timeout_ms, unique_key,
                  concurrency_key, batch_id, origin, created_at, trace_context)
VALUES (max(coalesce((SELECT max(id) FROM jobs), 0), (SELECT value FROM id_floor WHERE name = 'jobs')) + 1,
        ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
