-- Dashboard logins, kept in the store: every server of the store knows a browser's session, and a
-- restart keeps it. Only hashes are kept: of the session id (the cookie holds the id itself), and
-- of the token's secret (looked up again on every request, so revoking the token ends it).
CREATE TABLE dashboard_sessions (
  id_hash      text    PRIMARY KEY,
  token_hash   text    NOT NULL,
  created_at   bigint  NOT NULL,
  last_used_at bigint  NOT NULL
);
CREATE INDEX dashboard_sessions_by_token ON dashboard_sessions (token_hash);
CREATE INDEX dashboard_sessions_by_use ON dashboard_sessions (last_used_at);
