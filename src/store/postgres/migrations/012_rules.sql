-- Rules: on an event or a condition, matching task patterns, send a webhook or an e-mail or
-- enqueue a job. The definition is JSON (on, tasks, action, description), checked by core/rule.ts.
CREATE TABLE rules (
  name        text PRIMARY KEY,
  definition  text    NOT NULL,
  paused      boolean NOT NULL DEFAULT false,
  created_at  bigint  NOT NULL,
  updated_at  bigint  NOT NULL
);
-- The alerts of condition rules that are firing, one per rule and subject (a task, or a worker's
-- id): a row is written when the condition starts to hold and deleted when it clears, each by the
-- one transaction that also enqueues the delivery, so an alert fires once and resolves once.
CREATE TABLE rule_alerts (
  rule     text             NOT NULL,
  subject  text             NOT NULL,
  value    double precision NOT NULL,
  since    bigint           NOT NULL,
  PRIMARY KEY (rule, subject)
);
