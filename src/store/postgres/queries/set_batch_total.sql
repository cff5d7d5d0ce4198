-- Sets a batch's total once its jobs are inserted (deduplicated jobs are not members).
-- params: $1 id, $2 total
UPDATE batches SET total = $2 WHERE id = $1
