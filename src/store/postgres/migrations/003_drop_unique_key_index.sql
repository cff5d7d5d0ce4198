-- The index on unique_key alone served only Gearman's GET_STATUS_UNIQUE, which now searches
-- jobs_unique task by task. Every Gearman job carries a unique key (libgearman sends a UUID when
-- the client gives none), so the index cost two page writes per job for a rare look-up.
DROP INDEX IF EXISTS jobs_unique_key;
