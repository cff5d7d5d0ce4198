-- A submission's idempotency key, while its window lasts.
-- params: :key, :now
SELECT fingerprint, job_ids AS jobIds, batch_id AS batchId FROM submit_keys WHERE key = :key AND expires_at > :now
