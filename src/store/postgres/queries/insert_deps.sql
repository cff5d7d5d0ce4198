-- The edges of new waiting jobs. params: arrays $1 job ids, $2 dep ids, $3 names, $4 policies, $5 times
-- each dep was retried
INSERT INTO job_deps (job_id, dep_id, name, policy, dep_retried)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[])
