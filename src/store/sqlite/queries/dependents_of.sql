-- The edges from finished jobs to the jobs still waiting for them, with each finished job's state.
-- params: :ids (JSON array of the finished jobs), :only (JSON array of waiting jobs to settle, or null for all)
SELECT d.job_id AS jobId, d.dep_id AS depId, d.policy, coalesce(d.name, dep.step) AS name, dep.state AS depState, dep.task AS depTask
FROM json_each(:ids) AS f
JOIN job_deps d ON d.dep_id = f.value
JOIN jobs dep ON dep.id = d.dep_id
JOIN jobs w ON w.id = d.job_id
WHERE w.state = 'waiting' AND (:only IS NULL OR d.job_id IN (SELECT value FROM json_each(:only)))
ORDER BY d.job_id
