-- The queued or running job that holds a unique key.
-- params: :task, :uniqueKey
SELECT id, state, run_at AS runAt FROM jobs
WHERE task = :task AND unique_key = :uniqueKey AND state IN ('waiting', 'queued', 'running')
