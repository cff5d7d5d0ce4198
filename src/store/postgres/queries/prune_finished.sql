-- Deletes up to $4 jobs of one task and final state that finished before $3; returns how many.
-- By id through the primary key: planned once for any $4, a join could become a scan of the table.
-- params: $1 task, $2 state, $3 cutoff, $4 limit
WITH gone AS (
  DELETE FROM jobs WHERE id = ANY (ARRAY(
    SELECT id FROM jobs
    WHERE task = $1 AND state = $2 AND finished_at IS NOT NULL AND finished_at < $3
    LIMIT $4
    FOR UPDATE SKIP LOCKED))
  RETURNING 1
)
SELECT count(*)::integer AS n FROM gone
