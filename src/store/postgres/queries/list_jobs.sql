-- Jobs newest first; each filter applies when its parameter is not NULL. Run as an unnamed
-- statement, so it is planned with the actual values and the absent filters fold away. Ordered by
-- jobs.id, the number: a bare `id` would be the text the select list casts it to ("999" after "1000").
-- params: $1 task, $2 states (array), $3 batch id, $4 before id, $5 limit, $6 created since, $7 created until
SELECT {{JOB_COLUMNS}} FROM jobs
WHERE ($1::text IS NULL OR task = $1) AND ($2::text[] IS NULL OR state = ANY ($2::text[]))
  AND ($3::bigint IS NULL OR batch_id = $3) AND ($4::bigint IS NULL OR id < $4)
  AND ($6::bigint IS NULL OR created_at >= $6) AND ($7::bigint IS NULL OR created_at < $7)
ORDER BY jobs.id DESC
LIMIT $5
