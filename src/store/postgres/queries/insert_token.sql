-- params: $1 name, $2 scope, $3 tasks (array), $4 hash, $5 now
INSERT INTO tokens (name, scope, tasks, hash, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING {{TOKEN_COLUMNS}}
