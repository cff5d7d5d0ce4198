-- The edges from finished jobs to the jobs that wait for them, with each finished job's state.
-- Whether a dependent still waits is left to the statements that settle or end it (both check),
-- which saves a look-up per edge. Only the edges stored in the job's current round count (see
-- migration 008): those of a round before were settled when it ended then.
-- params: :ids (JSON array of the finished jobs), :only (JSON array of waiting jobs to settle, or null for all)
SELECT d.job_id AS jobId, d.dep_id AS depId, d.policy, coalesce(d.name, dep.step) AS name, dep.state AS depState, dep.task AS depTask
FROM json_each(:ids) AS f
JOIN jobs dep ON dep.id = f.value
JOIN job_deps d ON d.dep_id = dep.id AND d.dep_retried = dep.retried
WHERE :only IS NULL OR d.job_id IN (SELECT value FROM json_each(:only))
ORDER BY d.job_id
