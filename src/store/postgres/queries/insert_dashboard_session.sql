-- A new dashboard session, and the sessions last used before $5 forgotten.
-- params: $1 id hash, $2 token hash, $3 created at, $4 last used at, $5 idle before
WITH pruned AS (DELETE FROM dashboard_sessions WHERE last_used_at < $5)
INSERT INTO dashboard_sessions (id_hash, token_hash, created_at, last_used_at) VALUES ($1, $2, $3, $4)
