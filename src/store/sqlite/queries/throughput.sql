-- Jobs finished per task and minute (succeeded, failed for good) and failed attempts retried,
-- from the buckets the store keeps (migrations/012_job_counts.sql), oldest minute first.
-- params: :since (ms: buckets whose minute starts at or after it), :tasks (JSON array) or NULL for every task
SELECT task, minute, succeeded, failed, retried FROM job_throughput
WHERE minute >= :since AND (:tasks IS NULL OR task IN (SELECT value FROM json_each(:tasks)))
ORDER BY minute, task
