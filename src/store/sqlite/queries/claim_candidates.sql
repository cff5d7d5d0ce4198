-- The next runnable queued jobs of one task, in claim order, skipping keys already at their limit.
-- params: :task, :now, :blockedKeys (JSON array), :limit
SELECT id, priority, run_at AS runAt, concurrency_key AS concurrencyKey
FROM jobs
WHERE state = 'queued' AND task = :task AND run_at <= :now
  AND (concurrency_key IS NULL OR concurrency_key NOT IN (SELECT value FROM json_each(:blockedKeys)))
ORDER BY priority DESC, run_at, id
LIMIT :limit
