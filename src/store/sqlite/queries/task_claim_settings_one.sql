-- Limits and pause state of the one task a worker claims for (most workers: a plain lookup by key).
-- params: :name
SELECT name, concurrency, concurrency_per_key AS concurrencyPerKey, paused_until AS pausedUntil,
  rate_limit AS rateLimit, rate_period_ms AS ratePeriodMs, rate_key AS rateKey, push_group AS pushGroup
FROM tasks WHERE name = :name
