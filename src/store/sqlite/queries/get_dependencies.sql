-- The edges of these jobs, with the state, result and error of each job they wait for.
-- params: :ids (JSON array of waiting jobs)
SELECT d.job_id AS jobId, d.dep_id AS depId, coalesce(d.name, dep.step) AS name, d.policy, dep.task, dep.state, dep.result, dep.error
FROM json_each(:ids) AS w
JOIN job_deps d ON d.job_id = w.value
JOIN jobs dep ON dep.id = d.dep_id
ORDER BY d.job_id, d.dep_id
