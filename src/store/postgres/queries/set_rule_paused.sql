-- params: $1 name, $2 paused, $3 now
UPDATE rules SET paused = $2, updated_at = $3 WHERE name = $1
RETURNING name
