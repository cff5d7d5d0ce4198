-- Slots whose job no longer runs under the token they were taken with (finished, lease lost, retried).
-- params: $1 group
DELETE FROM push_slots s
WHERE s.grp = $1 AND NOT EXISTS (
  SELECT 1 FROM jobs j WHERE j.id = s.job_id AND j.state = 'running' AND j.lease_token = s.lease_token)
