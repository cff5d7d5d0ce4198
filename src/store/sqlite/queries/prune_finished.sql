-- Deletes up to :limit jobs of one task and final state that finished before :cutoff.
-- params: :task, :state, :cutoff, :limit
DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs
  WHERE task = :task AND state = :state AND finished_at < :cutoff
  LIMIT :limit)
