-- Schedules by name (every one when $1 is null), with the state of the last job each made.
-- params: $1 names (array or null)
SELECT {{SCHEDULE_COLUMNS}}
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE $1::text[] IS NULL OR s.name = ANY ($1::text[])
ORDER BY s.name
