-- Rules: on an event or a condition, matching task patterns, send a webhook or an e-mail or
-- enqueue a job. The definition is JSON (on, tasks, action, description), checked by core/rule.ts.
CREATE TABLE rules (
  name        TEXT PRIMARY KEY,
  definition  TEXT    NOT NULL,
  paused      INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
-- The alerts of condition rules that are firing, one per rule and subject (a task, or a worker's
-- id): a row is written when the condition starts to hold and deleted when it clears, each by the
-- one transaction that also enqueues the delivery, so an alert fires once and resolves once.
CREATE TABLE rule_alerts (
  rule     TEXT    NOT NULL,
  subject  TEXT    NOT NULL,
  value    REAL    NOT NULL,
  since    INTEGER NOT NULL,
  PRIMARY KEY (rule, subject)
) WITHOUT ROWID;
