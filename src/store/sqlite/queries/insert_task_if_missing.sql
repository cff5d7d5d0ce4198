-- params: :name, :settings (JSON), :concurrency, :concurrencyPerKey, :rateLimit, :ratePeriodMs, :rateKey, :now
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, rate_limit, rate_period_ms, rate_key, updated_at)
VALUES (:name, :settings, :concurrency, :concurrencyPerKey, :rateLimit, :ratePeriodMs, :rateKey, :now)
ON CONFLICT (name) DO NOTHING
