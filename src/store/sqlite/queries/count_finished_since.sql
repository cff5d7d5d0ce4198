-- Per task of :tasks: jobs that succeeded or failed at or after :since (the jobs_finished index).
-- params: :tasks (JSON array), :since
SELECT j.task AS task,
  SUM(CASE WHEN j.state = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
  SUM(CASE WHEN j.state = 'failed' THEN 1 ELSE 0 END) AS failed
FROM jobs j
WHERE j.task IN (SELECT value FROM json_each(:tasks)) AND j.state IN ('succeeded', 'failed')
  AND j.finished_at IS NOT NULL AND j.finished_at >= :since
GROUP BY j.task
