-- Jobs about to be purged that others wait for: cancelled first, so their dependents settle.
-- params: :ids (JSON array)
UPDATE jobs SET state = 'cancelled' WHERE id IN (SELECT value FROM json_each(:ids))
