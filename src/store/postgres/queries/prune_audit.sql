-- Audit entries older than $1, up to $2 at a time. params: $1 cutoff, $2 limit
DELETE FROM audit_log WHERE id = ANY (ARRAY(SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2))
