-- Running jobs whose worker stopped heartbeating, locked for this transaction; rows another
-- transaction holds are left for the next run.
-- params: $1 now, $2 limit
SELECT id::text AS id, attempt FROM jobs
WHERE state = 'running' AND lease_expires_at < $1
ORDER BY lease_expires_at
LIMIT $2
FOR UPDATE SKIP LOCKED
