-- Moves a schedule's cursor past a tick; with a job, records it as the last job; with a tick time, as the last tick.
-- params: :name, :nextTickAt (null: leave the cursor), :moveCursor (1/0), :lastTickAt (null: leave), :lastJobId (null: leave), :now
UPDATE schedules SET
  next_tick_at = CASE WHEN :moveCursor = 1 THEN :nextTickAt ELSE next_tick_at END,
  last_tick_at = coalesce(:lastTickAt, last_tick_at),
  last_job_id = coalesce(:lastJobId, last_job_id)
WHERE name = :name
