-- Idempotency keys whose window has ended.
-- params: $1 now
DELETE FROM submit_keys WHERE expires_at <= $1
