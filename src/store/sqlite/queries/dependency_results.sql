-- The results and errors of finished jobs, once each, for the dependents their outcome released
-- (a fan-out's result is read once, not once per edge). params: :ids (JSON array)
SELECT id, result, error FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
