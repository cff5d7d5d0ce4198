-- A text search among the newest $8 jobs the filters keep (as list_jobs filters them): the cost is
-- bounded by the scan, not by the table. $9 is a LIKE pattern with `\` as its escape; raw-byte
-- inputs and results (Gearman) are not searched. Unprepared, like list_jobs.
-- params: $1 task, $2 states (array), $3 batch id, $4 before id, $5 limit, $6 created since, $7 created until, $8 scan, $9 pattern
SELECT {{JOB_COLUMNS}} FROM (
  SELECT * FROM jobs
  WHERE ($1::text IS NULL OR task = $1) AND ($2::text[] IS NULL OR state = ANY ($2::text[]))
    AND ($3::bigint IS NULL OR batch_id = $3) AND ($4::bigint IS NULL OR id < $4)
    AND ($6::bigint IS NULL OR created_at >= $6) AND ($7::bigint IS NULL OR created_at < $7)
  ORDER BY jobs.id DESC
  LIMIT $8
) AS jobs
WHERE input ILIKE $9 ESCAPE '\' OR result ILIKE $9 ESCAPE '\' OR error ILIKE $9 ESCAPE '\'
ORDER BY jobs.id DESC
LIMIT $5
