-- When a queued job of the given tasks may next be claimed: per task, its earliest run_at, or the
-- end of the task's suspension if that is later; the earliest of those.
-- params: :names (JSON array)
SELECT min(max(q.runAt, coalesce(t.paused_until, 0))) AS runAt
FROM (SELECT task, min(run_at) AS runAt FROM jobs
      WHERE state = 'queued' AND task IN (SELECT value FROM json_each(:names)) GROUP BY task) q
LEFT JOIN tasks t ON t.name = q.task
