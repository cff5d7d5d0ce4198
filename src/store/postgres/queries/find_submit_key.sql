-- The live submission holding an idempotency key.
-- params: $1 key
SELECT fingerprint, job_ids::text[] AS "jobIds", batch_id::text AS "batchId" FROM submit_keys WHERE key = $1
