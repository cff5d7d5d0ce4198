-- When a queued job of the given tasks may next be claimed: per task, its earliest run_at (the
-- first entry of jobs_queued_unkeyed_by_time and of jobs_queued_keyed_by_time), or the end of the
-- task's suspension, or when its rate limit's window next has room (the first mark whose total is
-- above the key's total less the limit leaves the window), whichever is latest; the earliest of those.
-- params: $1 tasks (array)
SELECT min(greatest(q.run_at, coalesce(t.paused_until, 0), coalesce((
    SELECT m.at + t.rate_period_ms FROM rate_marks m
    WHERE t.rate_limit IS NOT NULL AND m.bucket = t.rate_key
      AND (SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = t.rate_key) >= t.rate_limit
      AND m.cum > (SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = t.rate_key) - t.rate_limit
    ORDER BY m.cum LIMIT 1), 0))) AS "runAt"
FROM unnest($1::text[]) AS u(name) LEFT JOIN tasks t ON t.name = u.name, LATERAL (
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NULL ORDER BY run_at LIMIT 1)
  UNION ALL
  (SELECT run_at FROM jobs WHERE state = 'queued' AND task = u.name AND concurrency_key IS NOT NULL ORDER BY run_at LIMIT 1)
) q
