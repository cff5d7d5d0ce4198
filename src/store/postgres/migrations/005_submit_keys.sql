-- Idempotency keys of submissions: the same key within its window returns the first submission's
-- jobs instead of storing new ones (a submit whose answer was lost can be sent again safely).
-- key: who submitted and the key they chose; fingerprint: a hash of what was submitted.
CREATE TABLE submit_keys (
  key         text PRIMARY KEY,
  fingerprint text NOT NULL,
  job_ids     bigint[] NOT NULL DEFAULT '{}',
  batch_id    bigint,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL
);
CREATE INDEX submit_keys_expiry ON submit_keys (expires_at);
