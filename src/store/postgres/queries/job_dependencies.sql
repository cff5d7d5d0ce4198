-- The jobs a job waits for (or waited for), with their step and state. params: $1 id
SELECT dep.id::text AS id, dep.task, dep.step, dep.state
FROM job_deps d JOIN jobs dep ON dep.id = d.dep_id
WHERE d.job_id = $1
ORDER BY dep.id
