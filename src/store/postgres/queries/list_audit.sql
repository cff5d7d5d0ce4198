-- Newest first. params: $1 before id (or NULL), $2 limit
SELECT id::text AS id, actor, method, route, targets, summary, status, at FROM audit_log
WHERE $1::bigint IS NULL OR id < $1
ORDER BY audit_log.id DESC LIMIT $2
