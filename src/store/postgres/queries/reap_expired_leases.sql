-- Running jobs whose worker stopped heartbeating: each is a failed attempt, retried at once while
-- attempts remain, failed otherwise. Rows another transaction holds are left for the next run.
-- params: $1 now, $2 limit, $3 now as ISO 8601 text (for the recorded error)
WITH expired AS (
  SELECT id, json_build_object(
      'message', 'The worker running attempt ' || attempt || ' stopped heartbeating (crashed, hung or cut off); its lease expired.',
      'code', 'LEASE_EXPIRED', 'attempt', attempt, 'at', $3::text)::text AS error
  FROM jobs
  WHERE state = 'running' AND lease_expires_at < $1
  ORDER BY lease_expires_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE jobs j
SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'queued' END,
    run_at = CASE WHEN j.attempt >= j.max_attempts THEN j.run_at ELSE $1 END,
    finished_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 ELSE NULL END,
    error = e.error,
    errors = CASE WHEN j.errors IS NULL THEN jsonb_build_array(e.error::jsonb)
                  WHEN jsonb_array_length(j.errors) >= 10 THEN (j.errors - 0) || jsonb_build_array(e.error::jsonb)
                  ELSE j.errors || jsonb_build_array(e.error::jsonb) END,
    lease_token = NULL, lease_expires_at = NULL
FROM expired e
-- Through the primary key: planned once for any $2, a join could become a scan of the table.
WHERE j.id = ANY (ARRAY(SELECT id FROM expired)) AND j.id = e.id
RETURNING j.id::text AS id, j.task, j.state, j.batch_id AS "batchId"
