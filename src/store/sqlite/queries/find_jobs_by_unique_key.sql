-- params: :uniqueKey
SELECT {{JOB_COLUMNS}} FROM jobs
WHERE unique_key = :uniqueKey AND state IN ('queued', 'running')
ORDER BY id
