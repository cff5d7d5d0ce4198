-- When a queued job of the given tasks may next be claimed: per task, its earliest run_at (the
-- first entry of jobs_queued_unkeyed_by_time and of jobs_queued_keyed_by_time), or the end of the
-- task's suspension if that is later; the earliest of those.
-- params: $1 tasks (array)
SELECT min(greatest(q.run_at, coalesce(t.paused_until, 0))) AS "runAt"
FROM unnest($1::text[]) AS u(name) LEFT JOIN tasks t ON t.name = u.name, LATERAL (
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NULL ORDER BY run_at LIMIT 1)
  UNION ALL
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NOT NULL ORDER BY run_at LIMIT 1)
) q
