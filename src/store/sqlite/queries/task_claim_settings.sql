-- Limits and pause state of the tasks a worker claims for.
-- params: :names (JSON array of task names)
SELECT name, concurrency, concurrency_per_key AS concurrencyPerKey, paused_until AS pausedUntil
FROM tasks WHERE name IN (SELECT value FROM json_each(:names))
