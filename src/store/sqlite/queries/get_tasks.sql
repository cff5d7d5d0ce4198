-- params: :names (JSON array, or NULL for every task)
SELECT name, settings, paused_until AS pausedUntil, updated_at AS updatedAt FROM tasks
WHERE :names IS NULL OR name IN (SELECT value FROM json_each(:names))
ORDER BY name
