-- The jobs that wait (or waited) for a job, with their step and state. params: :id
SELECT w.id, w.task, w.step, w.state
FROM job_deps d JOIN jobs w ON w.id = d.job_id
WHERE d.dep_id = :id
ORDER BY w.id
