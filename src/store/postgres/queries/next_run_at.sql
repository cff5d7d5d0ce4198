-- The earliest run_at among queued jobs of the given tasks.
-- params: $1 tasks (array)
SELECT min(q.run_at) AS "runAt"
FROM unnest($1::text[]) AS u(name) CROSS JOIN LATERAL (
  SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name ORDER BY run_at LIMIT 1) q
