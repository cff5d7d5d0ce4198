-- succeed_job for many jobs in one statement (a worker's turn of results): one statement to run
-- instead of one per job. Results are text or null here (bytes go one by one through succeed_job).
-- params: :items (JSON array of [id, token, result]), :now
UPDATE jobs
SET state = 'succeeded', result = t.value ->> 2, error = NULL, finished_at = :now,
    lease_expires_at = NULL
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0 AND jobs.state = 'running' AND jobs.lease_token = t.value ->> 1
RETURNING jobs.id AS id, task, batch_id AS batchId, concurrency_key AS concurrencyKey
