-- params: $1 id hash, $2 now
UPDATE dashboard_sessions SET last_used_at = greatest(last_used_at, $2) WHERE id_hash = $1
