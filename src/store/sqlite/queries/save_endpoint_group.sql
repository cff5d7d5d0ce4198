-- Adds or replaces an endpoint group's settings.
-- params: :name, :definition (JSON), :now
INSERT INTO endpoint_groups (name, definition, created_at, updated_at) VALUES (:name, :definition, :now, :now)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
