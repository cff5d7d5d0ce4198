-- Adds or replaces a rule's definition; its pause stays.
-- params: :name, :definition (JSON text), :now
INSERT INTO rules (name, definition, created_at, updated_at) VALUES (:name, :definition, :now, :now)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
