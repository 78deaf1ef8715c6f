-- SSO (OpenID Connect): each tenant's provider settings, single-use login states, the gateway's
-- session signing keys and the sessions it issued.

-- Secrets are sealed (AES-256-GCM) with the gateway's secret key before they reach the database.
CREATE TABLE sso_configs (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    scopes               TEXT NOT NULL,
    user_claim           TEXT NOT NULL,
    groups_claim         TEXT,
    jit                  BOOLEAN NOT NULL,
    redirect_allow       TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- One row per login in flight, found by the hash of its `state` and deleted when used, so a state
-- works once, and in any gateway process that shares the database.
CREATE TABLE sso_login_states (
    state_hash    TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sso_login_states_expiry_idx ON sso_login_states (expires_at);

-- The newest key without `retired_at` signs; retired keys stay published until every session they
-- signed has expired.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);

-- Sessions are JWTs the host verifies offline; this row is what introspection and logout consult.
CREATE TABLE sso_sessions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kid        TEXT NOT NULL,
    -- The groups the provider named at sign-in (JSON list): they count for roles while it lasts.
    idp_groups TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE INDEX sso_sessions_user_idx ON sso_sessions (user_id);
