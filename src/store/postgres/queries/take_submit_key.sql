-- Takes an idempotency key for this transaction's submission: a row when the key is free (never
-- used, or its window ended), none when a live submission holds it. A concurrent transaction with
-- the same key makes this wait until it commits or rolls back.
-- params: $1 key, $2 fingerprint, $3 now, $4 expires at
INSERT INTO submit_keys (key, fingerprint, created_at, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, job_ids = '{}', batch_id = NULL,
  created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
WHERE submit_keys.expires_at <= EXCLUDED.created_at
RETURNING key
