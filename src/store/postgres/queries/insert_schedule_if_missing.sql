-- Adds a schedule unless one of that name exists (a schedule defined in code, first seen).
-- params: as save_schedule
INSERT INTO schedules (name, task, cron, timezone, input, overlap, catch_up, catch_up_limit, jitter_ms, priority, description,
  next_tick_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
ON CONFLICT (name) DO NOTHING
