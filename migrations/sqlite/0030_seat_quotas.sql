-- Seats handed out ahead to each database connection of a tenant with a seat limit (issue #21;
-- see the PostgreSQL migration of the same number). SQLite's one writer takes turns anyway and
-- never fills this table; it is here so that both engines keep one schema.
CREATE TABLE tenant_seat_quotas (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    shard     INTEGER NOT NULL,
    quota     BIGINT NOT NULL CHECK (quota >= 0),
    PRIMARY KEY (tenant_id, shard)
);
