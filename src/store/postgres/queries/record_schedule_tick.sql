-- Moves a schedule's cursor past a tick; with a job, records it as the last job; with a tick time, as the last tick.
-- params: $1 name, $2 next tick at, $3 move the cursor, $4 last tick at (null: leave), $5 last job id (null: leave)
UPDATE schedules SET
  next_tick_at = CASE WHEN $3 THEN $2 ELSE next_tick_at END,
  last_tick_at = coalesce($4, last_tick_at),
  last_job_id = coalesce($5, last_job_id)
WHERE name = $1
