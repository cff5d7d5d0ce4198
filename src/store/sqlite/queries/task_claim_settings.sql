-- Limits and pause state of the tasks a worker claims for.
-- params: :names (JSON array of task names)
SELECT name, concurrency, concurrency_per_key AS concurrencyPerKey, paused_until AS pausedUntil,
  rate_limit AS rateLimit, rate_period_ms AS ratePeriodMs, rate_key AS rateKey, push_group AS pushGroup
FROM tasks WHERE name IN (SELECT value FROM json_each(:names))
