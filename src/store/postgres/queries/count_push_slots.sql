-- Jobs outstanding per endpoint of a group (live slots only).
-- params: $1 group
SELECT s.endpoint, count(*)::integer AS outstanding FROM push_slots s
JOIN jobs j ON j.id = s.job_id AND j.state = 'running' AND j.lease_token = s.lease_token
WHERE s.grp = $1 GROUP BY s.endpoint ORDER BY s.endpoint
