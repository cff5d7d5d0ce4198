-- Rules by name (every one when :names is null).
-- params: :names (JSON array or null)
SELECT name, definition, paused, created_at AS createdAt, updated_at AS updatedAt
FROM rules
WHERE :names IS NULL OR name IN (SELECT value FROM json_each(:names))
ORDER BY name
