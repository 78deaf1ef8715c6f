-- The admin API: operator tokens, and what each directory connection did, counted as it happened.

-- Operator tokens reach every tenant through /admin/v1. As with SCIM tokens only a hash is stored,
-- and a short visible prefix tells them apart in listings and audit events.
CREATE TABLE admin_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    CONSTRAINT admin_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX admin_tokens_prefix_idx ON admin_tokens (prefix);

-- Per connection and minute, counted in the transaction of each write: a connection's sync state
-- reads at most a day of minutes, whatever the traffic and however long the audit trail. Writes
-- spread over a few shards so that concurrent writes of one connection do not queue behind one
-- row lock (PostgreSQL holds it until commit).
CREATE TABLE sync_counters (
    connection_id TEXT NOT NULL REFERENCES directory_connections (id) ON DELETE CASCADE,
    minute        BIGINT NOT NULL,
    shard         BIGINT NOT NULL,
    creates       BIGINT NOT NULL DEFAULT 0,
    updates       BIGINT NOT NULL DEFAULT 0,
    deactivations BIGINT NOT NULL DEFAULT 0,
    deletes       BIGINT NOT NULL DEFAULT 0,
    rejections    BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT sync_counters_pkey PRIMARY KEY (connection_id, minute, shard)
);

-- The last rejections of a connection, newest first, without walking past its accepted writes.
CREATE INDEX audit_events_connection_rejected_idx ON audit_events (connection_id, at)
    WHERE outcome = 'rejected';
