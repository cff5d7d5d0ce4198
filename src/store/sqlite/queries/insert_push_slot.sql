-- A job's slot on an endpoint (a new attempt's replaces the last one's).
-- params: :jobId, :grp, :endpoint, :leaseToken, :now
INSERT INTO push_slots (job_id, grp, endpoint, lease_token, taken_at) VALUES (:jobId, :grp, :endpoint, :leaseToken, :now)
ON CONFLICT (job_id) DO UPDATE SET grp = excluded.grp, endpoint = excluded.endpoint, lease_token = excluded.lease_token, taken_at = excluded.taken_at
