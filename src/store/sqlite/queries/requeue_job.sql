-- Back to the queue: a retry after a failed attempt (:error set) or a release (:error NULL,
-- :refund 1 so the attempt does not count).
-- params: :id, :token, :runAt, :error, :refund
UPDATE jobs
SET state = 'queued', run_at = :runAt, attempt = attempt - :refund,
    error = coalesce(:error, error),
    errors = CASE WHEN :error IS NULL THEN errors ELSE {{APPEND_ERROR}} END,
    lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING task, concurrency_key AS concurrencyKey
