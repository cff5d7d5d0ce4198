-- params: :idHash, :now
UPDATE dashboard_sessions SET last_used_at = max(last_used_at, :now) WHERE id_hash = :idHash
