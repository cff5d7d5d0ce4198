-- Idempotency keys whose window has ended.
-- params: :now
DELETE FROM submit_keys WHERE expires_at <= :now
