-- A debounced submission: the queued job holding its unique key takes its input and run time.
-- params: $1 id, $2 input (JSON text), $3 input bytes, $4 run at
UPDATE jobs SET input = $2, input_bytes = $3, run_at = $4 WHERE id = $1 AND state = 'queued' RETURNING id
