-- What recording a tick needs to know of a schedule: its cursor, pause, and whether its last job still runs.
-- params: :name
SELECT s.next_tick_at AS nextTickAt, s.paused, s.overlap, j.state IN ('waiting', 'queued', 'running') AS lastJobLive
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE s.name = :name
