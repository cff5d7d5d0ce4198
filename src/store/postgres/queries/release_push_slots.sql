-- Slots given back by their dispatcher once the endpoint answered (only under the token they were taken with).
-- params: $1 job ids, $2 lease tokens
DELETE FROM push_slots s USING unnest($1::bigint[], $2::bigint[]) AS r(job_id, lease_token)
WHERE s.job_id = r.job_id AND s.lease_token = r.lease_token
