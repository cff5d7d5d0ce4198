-- The jobs that wait (or waited) for a job, with their step and state. params: $1 id
SELECT w.id::text AS id, w.task, w.step, w.state
FROM job_deps d JOIN jobs w ON w.id = d.job_id
WHERE d.dep_id = $1
ORDER BY w.id
