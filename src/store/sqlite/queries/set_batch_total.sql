-- Sets a batch's total once its jobs are inserted (deduplicated jobs are not members).
-- params: :id, :total
UPDATE batches SET total = :total WHERE id = :id
