-- Newest first. params: :beforeId (or NULL), :limit
SELECT id, actor, method, route, targets, summary, status, at FROM audit_log
WHERE :beforeId IS NULL OR id < :beforeId
ORDER BY id DESC LIMIT :limit
