-- The audit log: every action taken through the HTTP API (who, what, on which ids, the answer's
-- status, when). Written off the request's path, read newest first, pruned after a retention.
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  actor   TEXT    NOT NULL,   -- a token's name, or local:<address>
  method  TEXT    NOT NULL,
  route   TEXT    NOT NULL,   -- the route's pattern, e.g. /v1/jobs/:id/retry
  targets TEXT    NOT NULL,   -- JSON array of ids or names
  summary TEXT,               -- JSON: the body's shape, secrets left out
  status  INTEGER NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- An operator asked the worker to stop (POST /v1/workers/:id/stop): it claims no more jobs and
-- finishes those it holds. Kept here, in the same migration, because it is part of the same change.
ALTER TABLE workers ADD COLUMN stop_requested_at INTEGER;
