-- Tenants, directory connections, SCIM tokens, users with their email side table, and the audit trail.
-- Times are microseconds since the Unix epoch (UTC) in BIGINT columns, so both engines compare them alike.

CREATE TABLE tenants (
    id                   TEXT PRIMARY KEY,
    slug                 TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    seat_limit           BIGINT,
    seats_used           BIGINT NOT NULL DEFAULT 0,
    immutable_attributes TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_seats_within_limit CHECK (seat_limit IS NULL OR seat_limit >= 0)
);

CREATE TABLE directory_connections (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'generic',
    created_at BIGINT NOT NULL,
    CONSTRAINT directory_connections_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES directory_connections (id) ON DELETE CASCADE,
    prefix        TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT scim_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX scim_tokens_tenant_idx ON scim_tokens (tenant_id, prefix);

CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_name              TEXT NOT NULL,
    user_name_key          TEXT NOT NULL,
    external_id            TEXT,
    display_name           TEXT,
    display_name_key       TEXT,
    user_type              TEXT,
    status                 TEXT NOT NULL,
    last_login_at          BIGINT,
    doc                    TEXT NOT NULL,
    version                BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    modified_at            BIGINT NOT NULL,
    created_by_connection  TEXT,
    modified_by_connection TEXT,
    deleted_at             BIGINT,
    deleted_by_connection  TEXT,
    CONSTRAINT users_status_check CHECK (status IN ('invited', 'active', 'suspended'))
);
-- userName is unique per tenant among users that are not deleted, compared without regard to case.
CREATE UNIQUE INDEX users_tenant_user_name_key ON users (tenant_id, user_name_key) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_id_idx ON users (tenant_id, id) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_external_id_idx ON users (tenant_id, external_id) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_display_name_idx ON users (tenant_id, display_name_key) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_modified_idx ON users (tenant_id, modified_at) WHERE deleted_at IS NULL;

CREATE TABLE user_emails (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    position   BIGINT NOT NULL,
    type_key   TEXT,
    value      TEXT NOT NULL,
    value_key  TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_tenant_value_idx ON user_emails (tenant_id, value_key);

-- Append-only: every SCIM write and every rejected request, written in the transaction of the change.
CREATE TABLE audit_events (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          TEXT,
    connection_id      TEXT,
    at                 BIGINT NOT NULL,
    actor              TEXT NOT NULL,
    action             TEXT NOT NULL,
    target_type        TEXT,
    target_id          TEXT,
    target_name        TEXT,
    outcome            TEXT NOT NULL,
    http_status        BIGINT NOT NULL,
    reason             TEXT,
    changed_attributes TEXT,
    tolerances         TEXT,
    request_summary    TEXT
);
CREATE INDEX audit_events_tenant_at_idx ON audit_events (tenant_id, at);
CREATE INDEX audit_events_target_idx ON audit_events (tenant_id, target_id, at);
CREATE INDEX audit_events_connection_idx ON audit_events (connection_id, at);
