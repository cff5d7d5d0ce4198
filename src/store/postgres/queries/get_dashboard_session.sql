-- params: $1 id hash
SELECT id_hash AS "idHash", token_hash AS "tokenHash", created_at AS "createdAt", last_used_at AS "lastUsedAt"
FROM dashboard_sessions WHERE id_hash = $1
