-- params: arrays $1 names, $2 settings (JSON), $3 concurrency, $4 concurrency per key, $5 rate limit,
--   $6 rate period ms, $7 rate key; $8 now
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, rate_limit, rate_period_ms, rate_key, updated_at)
SELECT *, $8::bigint FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::integer[], $6::bigint[], $7::text[])
ON CONFLICT (name) DO UPDATE SET
  settings = excluded.settings, concurrency = excluded.concurrency,
  concurrency_per_key = excluded.concurrency_per_key, rate_limit = excluded.rate_limit,
  rate_period_ms = excluded.rate_period_ms, rate_key = excluded.rate_key, updated_at = excluded.updated_at
