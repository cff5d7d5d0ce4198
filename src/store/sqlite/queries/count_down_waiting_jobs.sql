-- settle_waiting_jobs when a claim follows in the same transaction: counts the edges down and
-- leaves every job waiting. Those with none left are the claim's to take straight to running (one
-- write of the row and of the counters, not queued then running) or to queue (queue_released.sql).
-- params: :items (JSON array of [id, n])
UPDATE jobs
SET deps_pending = deps_pending - (t.value ->> 1)
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0 AND jobs.state = 'waiting'
RETURNING jobs.id AS id, task, priority, run_at AS runAt, concurrency_key AS concurrencyKey, deps_pending AS depsPending,
  deps_total AS depsTotal
