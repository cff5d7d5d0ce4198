-- params: $1 names (array), or NULL for every task
SELECT name, settings, paused_until AS "pausedUntil", updated_at AS "updatedAt" FROM tasks
WHERE $1::text[] IS NULL OR name = ANY ($1::text[])
ORDER BY name
