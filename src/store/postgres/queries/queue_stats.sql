-- Per task of $1 that has queued jobs: how many, and their earliest run time.
-- params: $1 tasks (array)
SELECT task, count(*)::int AS queued, min(run_at) AS "oldestRunAt"
FROM jobs
WHERE state = 'queued' AND task = ANY ($1::text[])
GROUP BY task
