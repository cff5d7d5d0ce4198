-- Queued and running jobs holding a unique key, whatever their task: jobs_unique searched task by
-- task (every job's task is in the registry).
-- params: :uniqueKey
SELECT {{JOB_COLUMNS}} FROM jobs
WHERE task IN (SELECT name FROM tasks) AND unique_key = :uniqueKey AND state IN ('waiting', 'queued', 'running')
ORDER BY id
