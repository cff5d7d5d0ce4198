-- Endpoint groups by name (all when :names is NULL), by name order.
-- params: :names (JSON array or NULL)
SELECT name, definition, created_at AS createdAt, updated_at AS updatedAt FROM endpoint_groups
WHERE :names IS NULL OR name IN (SELECT value FROM json_each(:names))
ORDER BY name
