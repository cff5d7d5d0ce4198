-- params: $1 include revoked
SELECT {{TOKEN_COLUMNS}} FROM tokens WHERE $1 OR revoked_at IS NULL ORDER BY name
