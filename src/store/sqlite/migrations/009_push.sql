-- Endpoint groups (push): each group's settings as JSON, the task each task is bound to (claimed
-- only by that group's push dispatchers), and the slots that count jobs outstanding per endpoint
-- across every process. A slot lives while its job runs under the lease token it was taken with:
-- an outcome, a lost lease or a new attempt ends it without a write of its own.
CREATE TABLE endpoint_groups (
  name       TEXT PRIMARY KEY,
  definition TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
ALTER TABLE tasks ADD COLUMN push_group TEXT;
CREATE TABLE push_slots (
  job_id      INTEGER PRIMARY KEY,
  grp         TEXT NOT NULL,
  endpoint    TEXT NOT NULL,
  lease_token INTEGER NOT NULL,
  taken_at    INTEGER NOT NULL
);
CREATE INDEX push_slots_by_group ON push_slots (grp);
