-- Limits and pause state of the one task a worker claims for (most workers: a plain lookup by key).
-- params: :name
SELECT name, concurrency, concurrency_per_key AS concurrencyPerKey, paused_until AS pausedUntil
FROM tasks WHERE name = :name
