-- Jobs per task and state, read from the counters the store keeps (migrations/014_job_counts.sql),
-- not by counting rows: the folded totals plus the deltas not yet folded, under one snapshot.
-- params: $1 task or NULL for every task, $2 states (array) or NULL for every state
SELECT task, state, sum(n)::integer AS count FROM (
  SELECT task, state, n FROM job_counts WHERE ($1::text IS NULL OR task = $1) AND ($2::text[] IS NULL OR state = ANY ($2))
  UNION ALL
  SELECT task, state, n FROM job_count_deltas WHERE ($1::text IS NULL OR task = $1) AND ($2::text[] IS NULL OR state = ANY ($2))
) c
GROUP BY task, state HAVING sum(n) > 0
ORDER BY task, state
