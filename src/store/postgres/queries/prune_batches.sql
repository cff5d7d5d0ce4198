-- Finished batches with no job left, finished before $1.
-- params: $1 cutoff
DELETE FROM batches
WHERE finished_at < $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)
