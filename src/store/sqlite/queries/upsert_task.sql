-- params: :name, :settings (JSON), :concurrency, :concurrencyPerKey, :rateLimit, :ratePeriodMs, :rateKey, :now
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, rate_limit, rate_period_ms, rate_key, updated_at)
VALUES (:name, :settings, :concurrency, :concurrencyPerKey, :rateLimit, :ratePeriodMs, :rateKey, :now)
ON CONFLICT (name) DO UPDATE SET
  settings = excluded.settings, concurrency = excluded.concurrency,
  concurrency_per_key = excluded.concurrency_per_key, rate_limit = excluded.rate_limit,
  rate_period_ms = excluded.rate_period_ms, rate_key = excluded.rate_key, updated_at = excluded.updated_at
