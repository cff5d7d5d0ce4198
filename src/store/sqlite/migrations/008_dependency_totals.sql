-- How many distinct jobs a waiting job waited for when stored: a job released by a finishing call
-- that settled all of them gets its dependencies, with their results, from what that call read
-- (src/store/sqlite/dependency-links.ts) instead of reading them again when it is claimed.
-- Unknown (NULL, read at claim as before) for the jobs already waiting.
ALTER TABLE jobs ADD COLUMN deps_total INTEGER;
