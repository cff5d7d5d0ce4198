-- Queued and running jobs holding a unique key, whatever their task: jobs_unique searched task by
-- task (every job's task is in the registry). Ordered by jobs.id, the number, not the text id.
-- params: $1 unique key
SELECT {{JOB_COLUMNS}} FROM jobs
WHERE task IN (SELECT name FROM tasks) AND unique_key = $1 AND state IN ('waiting', 'queued', 'running')
ORDER BY jobs.id
