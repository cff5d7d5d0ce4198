-- Pauses ($2 true) or resumes ($2 false, the cursor set to $3: ticks while paused are not caught up).
-- params: $1 name, $2 paused, $3 next tick at, $4 now
UPDATE schedules SET paused = $2, updated_at = $4,
  next_tick_at = CASE WHEN $2 THEN next_tick_at ELSE $3 END
WHERE name = $1
RETURNING name
