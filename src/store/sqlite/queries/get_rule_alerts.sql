-- Firing alerts, of one rule or (when :rule is null) of every rule.
-- params: :rule (or null)
SELECT rule, subject, value, since FROM rule_alerts
WHERE :rule IS NULL OR rule = :rule
ORDER BY rule, subject
