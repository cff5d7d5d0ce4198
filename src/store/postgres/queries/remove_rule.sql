-- Deletes a rule and its alerts.
-- params: $1 name
WITH alerts AS (DELETE FROM rule_alerts WHERE rule = $1)
DELETE FROM rules WHERE name = $1
RETURNING name
