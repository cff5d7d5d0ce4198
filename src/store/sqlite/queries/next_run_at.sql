-- The earliest run_at among queued jobs of the given tasks.
-- params: :names (JSON array)
SELECT min(run_at) AS runAt FROM jobs
WHERE state = 'queued' AND task IN (SELECT value FROM json_each(:names))
