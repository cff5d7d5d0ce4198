-- params: $1 unique key
SELECT {{JOB_COLUMNS}} FROM jobs
WHERE unique_key = $1 AND state IN ('queued', 'running')
ORDER BY id
