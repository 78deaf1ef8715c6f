-- Sessions of the admin pages (/ui) for operators: an operator token is exchanged for one at
-- sign-in, so that the browser keeps a session cookie, not the token. Only a hash of the cookie's
-- secret is stored. Sessions are read joined to their token: revoking it ends them at once.
CREATE TABLE page_sessions (
    secret_hash    TEXT PRIMARY KEY,
    admin_token_id TEXT NOT NULL REFERENCES admin_tokens (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX page_sessions_expires_idx ON page_sessions (expires_at);
