-- A slot given back by its dispatcher once the endpoint answered (only under the token it was taken with).
-- params: :jobId, :leaseToken
DELETE FROM push_slots WHERE job_id = :jobId AND lease_token = :leaseToken
