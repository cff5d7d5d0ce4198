-- params: :name, :scope, :tasks (JSON), :hash, :now
INSERT INTO tokens (name, scope, tasks, hash, created_at) VALUES (:name, :scope, :tasks, :hash, :now)
RETURNING {{TOKEN_COLUMNS}}
