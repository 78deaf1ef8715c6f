-- A tenant's user counts (seats, and users per status) in rows of their own, apart from its
-- settings (issue #21). Every create, sign-in and suspension used to update the tenant's row, so
-- on PostgreSQL each write of a tenant waited for the one before it to commit. PostgreSQL spreads
-- the counts over shards, one per database connection, summed when read; SQLite has one writer
-- and keeps one shard, so that both engines share the table and its statements.
CREATE TABLE tenant_user_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    shard     INTEGER NOT NULL,
    seats     BIGINT NOT NULL DEFAULT 0,
    invited   BIGINT NOT NULL DEFAULT 0,
    active    BIGINT NOT NULL DEFAULT 0,
    suspended BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shard)
);

INSERT INTO tenant_user_counts (tenant_id, shard, seats, invited, active, suspended)
SELECT id, 0, seats_used, users_invited, users_active, users_suspended FROM tenants;

ALTER TABLE tenants DROP COLUMN seats_used;
ALTER TABLE tenants DROP COLUMN users_invited;
ALTER TABLE tenants DROP COLUMN users_active;
ALTER TABLE tenants DROP COLUMN users_suspended;

-- The fixed planner statistics of migration 0024.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('tenant_user_counts', 'sqlite_autoindex_tenant_user_counts_1', '10000 1 1');
