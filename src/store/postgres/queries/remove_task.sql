-- Removes a task that has no queued or running job.
-- params: $1 name
DELETE FROM tasks WHERE name = $1
  AND NOT EXISTS (SELECT 1 FROM jobs WHERE task = $1 AND state IN ('waiting', 'queued', 'running'))
RETURNING name
