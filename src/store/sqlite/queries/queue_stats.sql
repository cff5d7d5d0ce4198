-- Per task of :tasks that has queued jobs: how many, and their earliest run time.
-- params: :tasks (JSON array)
SELECT j.task AS task, COUNT(*) AS queued, MIN(j.run_at) AS oldestRunAt
FROM jobs j
WHERE j.state = 'queued' AND j.task IN (SELECT value FROM json_each(:tasks))
GROUP BY j.task
