-- params: :includeRevoked (0 or 1)
SELECT {{TOKEN_COLUMNS}} FROM tokens WHERE :includeRevoked = 1 OR revoked_at IS NULL ORDER BY name
