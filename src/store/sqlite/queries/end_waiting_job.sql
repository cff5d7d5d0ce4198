-- A job it waited for failed or was cancelled, and the edge's policy ends the waiting job too.
-- params: :id, :state ('failed' or 'cancelled'), :error (JSON), :now
UPDATE jobs
SET state = :state, error = :error, errors = {{APPEND_ERROR}}, finished_at = :now
WHERE id = :id AND state = 'waiting'
RETURNING id, task, batch_id AS batchId, has_dependents AS hasDependents
