-- Running jobs whose worker stopped heartbeating: each is a failed attempt, retried at once while
-- attempts remain, failed otherwise. Rows another transaction holds are left for the next run.
-- params: $1 now, $2 limit, $3 now as ISO 8601 text (for the recorded error)
WITH expired AS (
  SELECT id FROM jobs
  WHERE state = 'running' AND lease_expires_at < $1
  ORDER BY lease_expires_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), reaped AS (
  SELECT j.id, json_build_object(
      'message', 'The worker running attempt ' || j.attempt || ' stopped heartbeating (crashed, hung or cut off); its lease expired.',
      'code', 'LEASE_EXPIRED', 'attempt', j.attempt, 'at', $3::text)::text AS error,
    j.attempt >= j.max_attempts AS last
  FROM jobs j JOIN expired USING (id)
)
UPDATE jobs j
SET state = CASE WHEN r.last THEN 'failed' ELSE 'queued' END,
    run_at = CASE WHEN r.last THEN j.run_at ELSE $1 END,
    finished_at = CASE WHEN r.last THEN $1 ELSE NULL END,
    error = r.error,
    errors = CASE WHEN j.errors IS NULL THEN jsonb_build_array(r.error::jsonb)
                  WHEN jsonb_array_length(j.errors) >= 10 THEN (j.errors - 0) || jsonb_build_array(r.error::jsonb)
                  ELSE j.errors || jsonb_build_array(r.error::jsonb) END,
    lease_token = NULL, lease_expires_at = NULL
FROM reaped r
WHERE j.id = r.id
RETURNING j.id::text AS id, j.task, j.state, j.batch_id AS "batchId"
