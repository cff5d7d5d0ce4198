-- Slots whose job no longer runs under the token they were taken with (finished, lease lost, retried).
-- params: :grp
DELETE FROM push_slots
WHERE grp = :grp AND NOT EXISTS (
  SELECT 1 FROM jobs j WHERE j.id = push_slots.job_id AND j.state = 'running' AND j.lease_token = push_slots.lease_token)
