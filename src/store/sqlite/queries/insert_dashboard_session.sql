-- A new dashboard session. params: :idHash, :tokenHash, :createdAt, :lastUsedAt
INSERT INTO dashboard_sessions (id_hash, token_hash, created_at, last_used_at) VALUES (:idHash, :tokenHash, :createdAt, :lastUsedAt)
