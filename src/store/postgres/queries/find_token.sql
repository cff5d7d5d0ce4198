-- params: $1 hash
SELECT {{TOKEN_COLUMNS}} FROM tokens WHERE hash = $1 AND revoked_at IS NULL
