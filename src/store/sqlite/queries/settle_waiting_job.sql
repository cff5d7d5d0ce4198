-- :n more of a waiting job's dependencies are done; with none left it is queued (no sooner than its own run_at).
-- params: :id, :n, :now
UPDATE jobs
SET deps_pending = deps_pending - :n,
    state = CASE WHEN deps_pending - :n <= 0 THEN 'queued' ELSE state END,
    run_at = CASE WHEN deps_pending - :n <= 0 THEN max(run_at, :now) ELSE run_at END
WHERE id = :id AND state = 'waiting'
RETURNING id, task, state, run_at AS runAt
