-- Adds or replaces an endpoint group's settings.
-- params: $1 name, $2 definition (JSON), $3 now
INSERT INTO endpoint_groups (name, definition, created_at, updated_at) VALUES ($1, $2, $3, $3)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
