-- params: :name
UPDATE tasks SET paused_until = NULL WHERE name = :name
