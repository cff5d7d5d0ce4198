-- Rate limits: a task may start at most rate_limit jobs in any rate_period_ms, counted in the
-- window of its key (rate_key: the task's name, or a key tasks share). Each claim that starts jobs
-- of a limited task leaves a mark: the key's running total of starts at that moment. The starts
-- in a window are the total now less the total at the window's start (the latest mark at or
-- before it): two index look-ups per claim, however many jobs the window holds.
ALTER TABLE tasks ADD COLUMN rate_limit INTEGER;
ALTER TABLE tasks ADD COLUMN rate_period_ms INTEGER;
ALTER TABLE tasks ADD COLUMN rate_key TEXT;
CREATE TABLE rate_marks (
  bucket TEXT    NOT NULL,
  at     INTEGER NOT NULL,
  cum    INTEGER NOT NULL,  -- starts of the key up to and including `at`
  PRIMARY KEY (bucket, at)
) WITHOUT ROWID;
CREATE INDEX rate_marks_by_total ON rate_marks (bucket, cum);
