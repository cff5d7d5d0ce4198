-- Jobs that others now wait for, locked in id order; returns each with its state and how many times
-- it was retried (those missing do not exist). A finisher of one of them waits for this
-- transaction, then sees its edges.
-- params: $1 ids (array)
UPDATE jobs SET has_dependents = true
WHERE id = ANY (ARRAY(SELECT j.id FROM jobs j WHERE j.id = ANY ($1::bigint[]) ORDER BY j.id FOR NO KEY UPDATE))
RETURNING id::text AS id, state, retried
