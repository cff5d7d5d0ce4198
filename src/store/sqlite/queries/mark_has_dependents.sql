-- Jobs that others now wait for; returns each with its state and how many times it was retried
-- (those missing do not exist).
-- params: :ids (JSON array)
UPDATE jobs SET has_dependents = 1
WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING id, state, retried
