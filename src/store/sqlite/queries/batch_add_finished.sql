-- Counts jobs of a batch that reached a final state; stamps finished_at when all have.
-- params: :id, :s, :f, :c (how many succeeded, failed, cancelled), :now
UPDATE batches
SET succeeded = succeeded + :s, failed = failed + :f, cancelled = cancelled + :c,
    finished_at = CASE WHEN succeeded + :s + failed + :f + cancelled + :c >= total
                       THEN coalesce(finished_at, :now) ELSE NULL END
WHERE id = :id
RETURNING {{BATCH_COLUMNS}}, on_finish AS onFinish
