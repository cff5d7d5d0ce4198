-- Jobs finished per task and minute (succeeded, failed for good) and failed attempts retried,
-- from the buckets the store keeps plus the deltas not yet folded (migrations/014_job_counts.sql),
-- oldest minute first.
-- params: $1 since (ms: buckets whose minute starts at or after it), $2 tasks (array) or NULL for every task
SELECT task, minute, sum(succeeded)::integer AS succeeded, sum(failed)::integer AS failed, sum(retried)::integer AS retried FROM (
  SELECT minute, task, succeeded, failed, retried FROM job_throughput WHERE minute >= $1 AND ($2::text[] IS NULL OR task = ANY ($2))
  UNION ALL
  SELECT minute, task, succeeded, failed, retried FROM job_throughput_deltas WHERE minute >= $1 AND ($2::text[] IS NULL OR task = ANY ($2))
) t
GROUP BY minute, task
ORDER BY minute, task
