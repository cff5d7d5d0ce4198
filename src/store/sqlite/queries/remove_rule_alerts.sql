-- The alerts of a rule that is removed.
-- params: :rule
DELETE FROM rule_alerts WHERE rule = :rule
