-- params: arrays $1 names, $2 settings (JSON), $3 concurrency, $4 concurrency per key; $5 now
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, updated_at)
SELECT *, $5::bigint FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[])
ON CONFLICT (name) DO NOTHING
