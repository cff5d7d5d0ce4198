-- Endpoint groups by name (all when $1 is NULL), by name order.
-- params: $1 names (array or NULL)
SELECT name, definition, created_at AS "createdAt", updated_at AS "updatedAt" FROM endpoint_groups
WHERE $1::text[] IS NULL OR name = ANY ($1::text[])
ORDER BY name
