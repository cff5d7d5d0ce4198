-- Moves the counters' deltas into their totals, in one statement: a delta is deleted by the same
-- commit that adds it to its total, so a read (totals + deltas) never sees it twice or not at all.
-- A delta committed meanwhile is left for the next fold; two folders at once (while the duty
-- changes hands) cannot fold one delta twice: the second waits on the first's deletes, then skips them.
-- Returns how many delta rows were folded.
WITH counts AS (
  DELETE FROM job_count_deltas RETURNING task, state, n
), counted AS (
  INSERT INTO job_counts AS c (task, state, n)
  SELECT task, state, sum(n) FROM counts GROUP BY task, state
  ON CONFLICT (task, state) DO UPDATE SET n = c.n + excluded.n
), minutes AS (
  DELETE FROM job_throughput_deltas RETURNING minute, task, succeeded, failed, retried
), minuted AS (
  INSERT INTO job_throughput AS t (minute, task, succeeded, failed, retried)
  SELECT minute, task, sum(succeeded), sum(failed), sum(retried) FROM minutes GROUP BY minute, task
  ON CONFLICT (minute, task) DO UPDATE
    SET succeeded = t.succeeded + excluded.succeeded, failed = t.failed + excluded.failed, retried = t.retried + excluded.retried
)
SELECT ((SELECT count(*) FROM counts) + (SELECT count(*) FROM minutes))::integer AS folded
