-- Schedules not paused whose cursor is due, earliest first.
-- params: $1 now, $2 limit
SELECT {{SCHEDULE_COLUMNS}}
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE NOT s.paused AND s.next_tick_at IS NOT NULL AND s.next_tick_at <= $1
ORDER BY s.next_tick_at
LIMIT $2
