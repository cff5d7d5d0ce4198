-- An alert starts firing; a row already there (another process recorded it) stays as it is.
-- params: :rule, :subject, :value, :now
INSERT INTO rule_alerts (rule, subject, value, since) VALUES (:rule, :subject, :value, :now)
ON CONFLICT (rule, subject) DO NOTHING
