-- A debounced submission: the queued job holding its unique key takes its input and run time.
-- params: :id, :input, :runAt
UPDATE jobs SET input = :input, run_at = :runAt WHERE id = :id AND state = 'queued'
