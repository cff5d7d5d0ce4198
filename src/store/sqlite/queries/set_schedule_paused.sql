-- Pauses (:paused 1) or resumes (:paused 0, the cursor set to :nextTickAt: ticks while paused are not caught up).
-- params: :name, :paused, :nextTickAt, :now
UPDATE schedules SET paused = :paused, updated_at = :now,
  next_tick_at = CASE WHEN :paused = 1 THEN next_tick_at ELSE :nextTickAt END
WHERE name = :name
