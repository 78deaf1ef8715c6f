-- Seats handed out ahead to each database connection of a tenant with a seat limit (issue #21).
-- Every create of such a tenant took its turn on one lock until the one before it committed, WAL
-- flush included. Now a connection first takes a seat from its own shard's quota, a row no other
-- connection writes; only when that is empty does it take the tenant's lock, count the seats
-- used and the quotas outstanding in one snapshot, and grant its shard a few more. The last free
-- seat is never in a quota, so the create that fills the tenant still counts exactly (see
-- Tx::reserve_seat). SQLite's one writer needs none of this and never fills its copy of the table.
CREATE TABLE tenant_seat_quotas (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    shard     INTEGER NOT NULL,
    quota     BIGINT NOT NULL CHECK (quota >= 0),
    PRIMARY KEY (tenant_id, shard)
);
