-- Schedules not paused whose cursor is due, earliest first.
-- params: :now, :limit
SELECT {{SCHEDULE_COLUMNS}}
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE s.paused = 0 AND s.next_tick_at IS NOT NULL AND s.next_tick_at <= :now
ORDER BY s.next_tick_at
LIMIT :limit
