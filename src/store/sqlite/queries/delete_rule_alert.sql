-- An alert clears.
-- params: :rule, :subject
DELETE FROM rule_alerts WHERE rule = :rule AND subject = :subject
