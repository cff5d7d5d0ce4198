-- How many jobs a search scanned (up to $7) and the smallest id among them: where the next page starts.
-- params: $1 task, $2 states (array), $3 batch id, $4 before id, $5 created since, $6 created until, $7 scan
SELECT count(*)::integer AS n, min(id)::text AS low FROM (
  SELECT id FROM jobs
  WHERE ($1::text IS NULL OR task = $1) AND ($2::text[] IS NULL OR state = ANY ($2::text[]))
    AND ($3::bigint IS NULL OR batch_id = $3) AND ($4::bigint IS NULL OR id < $4)
    AND ($5::bigint IS NULL OR created_at >= $5) AND ($6::bigint IS NULL OR created_at < $6)
  ORDER BY jobs.id DESC
  LIMIT $7
) AS scanned
