-- Audit entries older than :cutoff, up to :limit at a time. params: :cutoff, :limit
DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < :cutoff ORDER BY at LIMIT :limit)
