-- params: $1 name, $2 until
UPDATE tasks SET paused_until = greatest(coalesce(paused_until, 0), $2) WHERE name = $1
