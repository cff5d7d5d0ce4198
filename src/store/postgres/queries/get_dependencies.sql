-- The edges of these jobs, with the state, result and error of each job they wait for.
-- params: $1 ids of waiting jobs (array)
SELECT d.job_id::text AS "jobId", d.dep_id::text AS "depId", coalesce(d.name, dep.step) AS name, d.policy, dep.task, dep.state,
  dep.result, dep.result_bytes AS "resultBytes", dep.error
FROM job_deps d JOIN jobs dep ON dep.id = d.dep_id
WHERE d.job_id = ANY ($1::bigint[])
ORDER BY d.job_id, d.dep_id
