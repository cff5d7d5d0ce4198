-- Of these jobs, which may be deleted: finished, and no job still to run waits for it (its
-- handler reads the result), as the pruner judges. params: :ids (JSON array)
SELECT id, (state IN ('succeeded', 'failed', 'cancelled') AND (has_dependents = 0 OR NOT EXISTS (
    SELECT 1 FROM job_deps d JOIN jobs w ON w.id = d.job_id
    WHERE d.dep_id = jobs.id AND w.state IN ('waiting', 'queued', 'running')))) AS deletable
FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
