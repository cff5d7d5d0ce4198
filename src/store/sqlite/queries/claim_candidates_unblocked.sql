-- The next runnable queued jobs of one task, in claim order, when no concurrency key of the task is
-- at its limit (the common case: planned without the blocked-keys subquery, which costs more than
-- the index search itself).
-- params: :task, :now, :limit
SELECT id, priority, run_at AS runAt, concurrency_key AS concurrencyKey
FROM jobs
WHERE state = 'queued' AND task = :task AND run_at <= :now
ORDER BY priority DESC, run_at, id
LIMIT :limit
