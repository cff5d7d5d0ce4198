-- succeed_job for many jobs in one statement (a worker's turn of results): one statement to run
-- instead of one per job. JSON carries no bytes: a result given as bytes comes in hex (item 3),
-- text or null as itself (item 2).
-- params: :items (JSON array of [id, token, text result or null, hex of a bytes result or null]), :now
UPDATE jobs
SET state = 'succeeded', result = coalesce(unhex(t.value ->> 3), t.value ->> 2), error = NULL, finished_at = :now,
    lease_expires_at = NULL
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0 AND jobs.state = 'running' AND jobs.lease_token = t.value ->> 1
RETURNING jobs.id AS id, task, batch_id AS batchId, concurrency_key AS concurrencyKey, has_dependents AS hasDependents
