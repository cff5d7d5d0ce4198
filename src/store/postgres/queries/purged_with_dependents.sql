-- Jobs of a task in a state that others wait for, cancelled before the purge deletes them, so
-- their dependents settle. params: $1 task, $2 state
UPDATE jobs SET state = 'cancelled' WHERE task = $1 AND state = $2 AND has_dependents RETURNING id::text AS id
