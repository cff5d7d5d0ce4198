-- Adds or replaces a schedule's definition. Its pause, last tick and last job stay; its cursor
-- becomes :nextTickAt when the schedule is new or its rule or time zone changed.
-- params: :name, :task, :cron, :timezone, :input, :overlap, :catchUp, :catchUpLimit, :jitterMs, :priority, :description, :nextTickAt, :now
INSERT INTO schedules (name, task, cron, timezone, input, overlap, catch_up, catch_up_limit, jitter_ms, priority, description,
  next_tick_at, created_at, updated_at)
VALUES (:name, :task, :cron, :timezone, :input, :overlap, :catchUp, :catchUpLimit, :jitterMs, :priority, :description, :nextTickAt, :now, :now)
ON CONFLICT (name) DO UPDATE SET
  next_tick_at = CASE WHEN schedules.cron = excluded.cron AND schedules.timezone IS excluded.timezone
                      THEN schedules.next_tick_at ELSE excluded.next_tick_at END,
  task = excluded.task, cron = excluded.cron, timezone = excluded.timezone, input = excluded.input,
  overlap = excluded.overlap, catch_up = excluded.catch_up, catch_up_limit = excluded.catch_up_limit,
  jitter_ms = excluded.jitter_ms, priority = excluded.priority, description = excluded.description,
  updated_at = excluded.updated_at
