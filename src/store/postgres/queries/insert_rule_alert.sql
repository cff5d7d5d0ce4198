-- An alert starts firing; a row already there (another process recorded it) stays as it is.
-- params: $1 rule, $2 subject, $3 value, $4 now
INSERT INTO rule_alerts (rule, subject, value, since) VALUES ($1, $2, $3, $4)
ON CONFLICT (rule, subject) DO NOTHING
RETURNING rule
