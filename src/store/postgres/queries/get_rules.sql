-- Rules by name (every one when $1 is null).
-- params: $1 names (array or null)
SELECT name, definition, paused, created_at AS "createdAt", updated_at AS "updatedAt"
FROM rules
WHERE $1::text[] IS NULL OR name = ANY ($1::text[])
ORDER BY name
