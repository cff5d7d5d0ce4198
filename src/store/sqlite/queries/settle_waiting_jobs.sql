-- Waiting jobs with n more of their dependencies done each; with none left a job is queued (no
-- sooner than its own run_at). One statement for a fan-out: one finished job, many waiting.
-- params: :items (JSON array of [id, n]), :now
UPDATE jobs
SET deps_pending = deps_pending - (t.value ->> 1),
    state = CASE WHEN deps_pending - (t.value ->> 1) <= 0 THEN 'queued' ELSE state END,
    run_at = CASE WHEN deps_pending - (t.value ->> 1) <= 0 THEN max(run_at, :now) ELSE run_at END
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0 AND jobs.state = 'waiting'
RETURNING jobs.id AS id, task, state, run_at AS runAt, deps_total AS depsTotal
