-- How many distinct jobs a waiting job waited for when stored: a job released by a finishing call
-- that settled all of them gets its dependencies, with their results, from what that call read
-- (src/store/sqlite/dependency-links.ts) instead of reading them again when it is claimed.
-- Unknown (NULL, read at claim as before) for the jobs already waiting.
ALTER TABLE jobs ADD COLUMN deps_total INTEGER;
-- How many times a job was retried after it ended (retry(id)), and, on each edge, that count for the
-- job waited for when the edge was stored: a job's edges are settled once, when it first ends,
-- and an edge is counted only when the job it waits for ends in the same round. Without it, a job
-- that failed (a dependent with policy run counted it) and was retried was counted again when it
-- succeeded, releasing the dependent before the other jobs it waits for.
ALTER TABLE jobs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_deps ADD COLUMN dep_retried INTEGER NOT NULL DEFAULT 0;
