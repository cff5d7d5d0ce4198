-- Jobs' slots on endpoints (a new attempt's replaces the last one's).
-- params: $1 job ids, $2 group, $3 endpoints, $4 lease tokens (arrays but $2), $5 now
INSERT INTO push_slots (job_id, grp, endpoint, lease_token, taken_at)
SELECT u.job_id, $2, u.endpoint, u.lease_token, $5 FROM unnest($1::bigint[], $3::text[], $4::bigint[]) AS u(job_id, endpoint, lease_token)
ON CONFLICT (job_id) DO UPDATE SET grp = excluded.grp, endpoint = excluded.endpoint, lease_token = excluded.lease_token, taken_at = excluded.taken_at
