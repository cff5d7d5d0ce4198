-- Per task of $1: jobs that succeeded or failed at or after $2 (the jobs_finished index).
-- params: $1 tasks (array), $2 since
SELECT task,
  count(*) FILTER (WHERE state = 'succeeded')::int AS succeeded,
  count(*) FILTER (WHERE state = 'failed')::int AS failed
FROM jobs
WHERE task = ANY ($1::text[]) AND state IN ('succeeded', 'failed') AND finished_at IS NOT NULL AND finished_at >= $2
GROUP BY task
