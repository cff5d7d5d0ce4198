-- Per task with queued jobs among the given ones: its earliest run_at, the end of its suspension,
-- and its rate limit (the caller asks rate_window_opens when the limit's window next has room).
-- params: :names (JSON array)
SELECT q.task, q.runAt, t.paused_until AS pausedUntil, t.rate_limit AS rateLimit, t.rate_period_ms AS ratePeriodMs, t.rate_key AS rateKey
FROM (SELECT task, min(run_at) AS runAt FROM jobs
      WHERE state = 'queued' AND task IN (SELECT value FROM json_each(:names)) GROUP BY task) q
LEFT JOIN tasks t ON t.name = q.task
