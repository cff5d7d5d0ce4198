-- Deletes up to :limit jobs of one task and final state that finished before :cutoff, but not a
-- job that a job still to run waits for (its handler reads the result).
-- params: :task, :state, :cutoff, :limit
DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs
  WHERE task = :task AND state = :state AND finished_at < :cutoff
    AND (has_dependents = 0 OR NOT EXISTS (
      SELECT 1 FROM job_deps d JOIN jobs w ON w.id = d.job_id
      WHERE d.dep_id = jobs.id AND w.state IN ('waiting', 'queued', 'running')))
  LIMIT :limit)
