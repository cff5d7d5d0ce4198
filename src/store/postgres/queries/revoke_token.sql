-- params: $1 name, $2 now
UPDATE tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL
RETURNING name
