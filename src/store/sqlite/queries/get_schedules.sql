-- Schedules by name (every one when :names is null), with the state of the last job each made.
-- params: :names (JSON array or null)
SELECT {{SCHEDULE_COLUMNS}}
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE :names IS NULL OR s.name IN (SELECT value FROM json_each(:names))
ORDER BY s.name
