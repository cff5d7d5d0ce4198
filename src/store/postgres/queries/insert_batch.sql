-- params: $1 title, $2 total, $3 on_finish (JSON of the job to enqueue at the end, or NULL), $4 now, $5 is_flow
INSERT INTO batches (title, total, on_finish, created_at, is_flow) VALUES ($1, $2, $3::jsonb, $4, $5)
RETURNING id::text AS id
