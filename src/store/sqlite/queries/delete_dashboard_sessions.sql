-- One session by its id hash, or every session of a token (the other param null). params: :idHash, :tokenHash
DELETE FROM dashboard_sessions WHERE id_hash = :idHash OR token_hash = :tokenHash
