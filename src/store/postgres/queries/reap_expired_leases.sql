-- Each locked job whose lease expired is a failed attempt (its error built in core/job-rules.ts),
-- retried at once while attempts remain, failed otherwise.
-- params: $1 now, $2 ids (array), $3 errors (JSON text, array)
UPDATE jobs j
SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'queued' END,
    run_at = CASE WHEN j.attempt >= j.max_attempts THEN j.run_at ELSE $1 END,
    finished_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 ELSE NULL END,
    error = e.error,
    errors = CASE WHEN j.errors IS NULL THEN jsonb_build_array(e.error::jsonb)
                  WHEN jsonb_array_length(j.errors) >= 10 THEN (j.errors - 0) || jsonb_build_array(e.error::jsonb)
                  ELSE j.errors || jsonb_build_array(e.error::jsonb) END,
    lease_token = NULL, lease_expires_at = NULL
FROM unnest($2::bigint[], $3::text[]) AS e(id, error)
-- The expired ids drive the join, one primary-key look-up each (see finish_jobs in 006).
WHERE j.id = e.id AND j.state IS NOT DISTINCT FROM 'running'
RETURNING j.id::text AS id, j.task, j.state, j.batch_id AS "batchId", j.attempt, j.concurrency_key AS "concurrencyKey",
  j.has_dependents AS "hasDependents"
