-- API tokens: only the SHA-256 hash of each secret is kept.
CREATE TABLE tokens (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  scope       TEXT    NOT NULL,   -- submit | work | read | admin
  tasks       TEXT    NOT NULL,   -- JSON array of task name patterns; [] = every task
  hash        TEXT    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);

-- Gearman's GET_STATUS_UNIQUE looks jobs up by unique key alone.
CREATE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');
