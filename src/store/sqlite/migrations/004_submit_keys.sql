-- Idempotency keys of submissions: the same key within its window returns the first submission's
-- jobs instead of storing new ones (a submit whose answer was lost can be sent again safely).
-- key: who submitted and the key they chose; fingerprint: a hash of what was submitted.
CREATE TABLE submit_keys (
  key         TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  job_ids     TEXT NOT NULL,   -- JSON array of the jobs' ids, in submission order
  batch_id    INTEGER,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX submit_keys_expiry ON submit_keys (expires_at);
