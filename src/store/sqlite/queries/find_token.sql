-- params: :hash
SELECT {{TOKEN_COLUMNS}} FROM tokens WHERE hash = :hash AND revoked_at IS NULL
