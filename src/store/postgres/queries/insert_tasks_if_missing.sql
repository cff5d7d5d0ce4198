-- params: as upsert_tasks
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, rate_limit, rate_period_ms, rate_key, updated_at)
SELECT *, $8::bigint FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::integer[], $6::bigint[], $7::text[])
ON CONFLICT (name) DO NOTHING
