-- The jobs a job waits for (or waited for), with their step and state. params: :id
SELECT dep.id, dep.task, dep.step, dep.state
FROM job_deps d JOIN jobs dep ON dep.id = d.dep_id
WHERE d.job_id = :id
ORDER BY dep.id
