-- The queued or running jobs that hold these (task, unique key) pairs.
-- params: $1 tasks (array), $2 unique keys (array, same length)
SELECT j.id::text AS id, j.task, j.unique_key AS "uniqueKey", j.state, j.run_at AS "runAt"
FROM jobs j JOIN unnest($1::text[], $2::text[]) AS k(task, unique_key)
  ON j.task = k.task AND j.unique_key = k.unique_key
WHERE j.state IN ('waiting', 'queued', 'running')
