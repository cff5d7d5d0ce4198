-- The edges of new waiting jobs. params: :edges (JSON array of [job id, dep id, name or null, policy,
-- times the dep was retried])
INSERT INTO job_deps (job_id, dep_id, name, policy, dep_retried)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(:edges)
