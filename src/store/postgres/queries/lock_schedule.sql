-- Locks a schedule for recording a tick (servers trying the same tick wait here, then see it
-- handled), with its cursor, pause, and whether its last job still runs.
-- params: $1 name
SELECT s.next_tick_at AS "nextTickAt", s.paused, s.overlap, j.state IN ('waiting', 'queued', 'running') AS "lastJobLive"
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE s.name = $1
FOR UPDATE OF s
