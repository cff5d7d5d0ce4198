-- The earliest cursor of the schedules not paused.
SELECT min(next_tick_at) AS at FROM schedules WHERE paused = 0 AND next_tick_at IS NOT NULL
