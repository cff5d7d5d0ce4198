-- Adds or replaces a rule's definition; its pause stays.
-- params: $1 name, $2 definition (JSON text), $3 now
INSERT INTO rules (name, definition, created_at, updated_at) VALUES ($1, $2, $3, $3)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
