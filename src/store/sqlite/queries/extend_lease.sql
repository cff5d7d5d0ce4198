-- params: :id, :token, :leaseExpiresAt
UPDATE jobs SET lease_expires_at = :leaseExpiresAt
WHERE id = :id AND state = 'running' AND lease_token = :token
