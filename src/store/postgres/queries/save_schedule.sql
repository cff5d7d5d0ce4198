-- Adds or replaces a schedule's definition. Its pause, last tick and last job stay; its cursor
-- becomes $12 when the schedule is new or its rule or time zone changed.
-- params: $1 name, $2 task, $3 cron, $4 timezone, $5 input, $6 overlap, $7 catch-up, $8 catch-up limit,
--   $9 jitter ms, $10 priority, $11 description, $12 next tick at, $13 now
INSERT INTO schedules AS s (name, task, cron, timezone, input, overlap, catch_up, catch_up_limit, jitter_ms, priority, description,
  next_tick_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
ON CONFLICT (name) DO UPDATE SET
  next_tick_at = CASE WHEN s.cron = excluded.cron AND s.timezone IS NOT DISTINCT FROM excluded.timezone
                      THEN s.next_tick_at ELSE excluded.next_tick_at END,
  task = excluded.task, cron = excluded.cron, timezone = excluded.timezone, input = excluded.input,
  overlap = excluded.overlap, catch_up = excluded.catch_up, catch_up_limit = excluded.catch_up_limit,
  jitter_ms = excluded.jitter_ms, priority = excluded.priority, description = excluded.description,
  updated_at = excluded.updated_at
