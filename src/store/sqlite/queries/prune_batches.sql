-- Finished batches with no job left, finished before :cutoff.
-- params: :cutoff
DELETE FROM batches
WHERE finished_at < :cutoff AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)
