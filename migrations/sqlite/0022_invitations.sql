-- Invitations of invited users: a single-use sign-in link per user, of which only a hash of the
-- secret is stored. Issuing a new one ends the open one ('replaced'); the first sign-in ends it
-- ('used'). Kept after they end, so a stale link can be told apart from a foreign one.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT,
    ended_how  TEXT
);
CREATE INDEX invitations_open_idx ON invitations (user_id) WHERE ended_at IS NULL;
CREATE INDEX invitations_user_idx ON invitations (user_id);
