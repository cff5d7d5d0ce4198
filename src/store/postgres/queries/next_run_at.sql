-- The earliest run_at among queued jobs of the given tasks: for each task, the first entry of
-- jobs_queued_unkeyed_by_time and of jobs_queued_keyed_by_time.
-- params: $1 tasks (array)
SELECT min(q.run_at) AS "runAt"
FROM unnest($1::text[]) AS u(name), LATERAL (
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NULL ORDER BY run_at LIMIT 1)
  UNION ALL
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NOT NULL ORDER BY run_at LIMIT 1)
) q
