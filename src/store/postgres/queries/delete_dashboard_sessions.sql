-- One session by its id hash, or every session of a token (the other param null). params: $1 id hash, $2 token hash
DELETE FROM dashboard_sessions WHERE id_hash = $1 OR token_hash = $2
