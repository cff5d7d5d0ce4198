-- An alert clears.
-- params: $1 rule, $2 subject
DELETE FROM rule_alerts WHERE rule = $1 AND subject = $2
RETURNING rule
