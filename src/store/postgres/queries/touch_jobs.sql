-- Extends leases ($3 not NULL) and records progress (rows whose progress is given), fenced by the
-- lease token. Returns the ids still held; the others' leases were lost.
-- params: arrays $1 ids, $2 tokens, $4 progress done, $5 progress total, $6 progress message, $7 has progress; $3 lease_expires_at
UPDATE jobs j
SET lease_expires_at = coalesce($3, j.lease_expires_at),
    progress_done = CASE WHEN t.has_progress THEN t.done ELSE j.progress_done END,
    progress_total = CASE WHEN t.has_progress THEN t.total ELSE j.progress_total END,
    progress_message = CASE WHEN t.has_progress THEN t.message ELSE j.progress_message END
FROM unnest($1::bigint[], $2::bigint[], $4::float8[], $5::float8[], $6::text[], $7::boolean[])
  AS t(id, token, done, total, message, has_progress)
-- The touches drive the join, one primary-key look-up each (see finish_jobs in 006).
WHERE j.id = t.id AND j.state IS NOT DISTINCT FROM 'running' AND j.lease_token = t.token
RETURNING j.id::text AS id
