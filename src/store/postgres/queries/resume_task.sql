-- params: $1 name
UPDATE tasks SET paused_until = NULL WHERE name = $1 RETURNING name
