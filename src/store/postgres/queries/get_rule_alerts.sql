-- Firing alerts, of one rule or (when $1 is null) of every rule.
-- params: $1 rule (or null)
SELECT rule, subject, value, since FROM rule_alerts
WHERE $1::text IS NULL OR rule = $1
ORDER BY rule, subject
