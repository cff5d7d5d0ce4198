-- Released jobs (count_down_waiting_jobs.sql) the claim did not take: queued, no sooner than now.
-- params: :ids (JSON array), :now
UPDATE jobs
SET state = 'queued', run_at = max(run_at, :now)
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'waiting' AND deps_pending <= 0
RETURNING id, task, run_at AS runAt
