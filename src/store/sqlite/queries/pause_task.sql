-- params: :name, :until
UPDATE tasks SET paused_until = max(coalesce(paused_until, 0), :until) WHERE name = :name
