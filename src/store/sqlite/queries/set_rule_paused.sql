-- params: :name, :paused (0 or 1), :now
UPDATE rules SET paused = :paused, updated_at = :now WHERE name = :name
