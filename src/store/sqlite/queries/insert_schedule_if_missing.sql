-- Adds a schedule unless one of that name exists (a schedule defined in code, first seen).
-- params: as save_schedule
INSERT INTO schedules (name, task, cron, timezone, input, overlap, catch_up, catch_up_limit, jitter_ms, priority, description,
  next_tick_at, created_at, updated_at)
VALUES (:name, :task, :cron, :timezone, :input, :overlap, :catchUp, :catchUpLimit, :jitterMs, :priority, :description, :nextTickAt, :now, :now)
ON CONFLICT (name) DO NOTHING
