-- Removes a task that has no queued or running job.
-- params: :name
DELETE FROM tasks WHERE name = :name
  AND NOT EXISTS (SELECT 1 FROM jobs WHERE task = :name AND state IN ('waiting', 'queued', 'running'))
