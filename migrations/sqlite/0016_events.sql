-- The outbox: one row per change a host product hears about (user and group lifecycle, sign-ins),
-- written in the transaction of the change, so an event exists if and only if its change
-- committed. The pull feed and webhook delivery read it.
--
-- Order: on SQLite one writer at a time appends, so the rowid `seq` grows in commit order and a
-- reader that has seen seq N can never later find a smaller one committed. Purges keep each
-- tenant's newest event, so a seq is never given out twice.
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type             TEXT NOT NULL,
    at               BIGINT NOT NULL,
    actor            TEXT NOT NULL,
    connection_id    TEXT,
    resource_type    TEXT,
    resource_id      TEXT,
    resource_version BIGINT,
    changed          TEXT,
    data             TEXT NOT NULL
);
-- A tenant's feed, in order.
CREATE INDEX events_tenant_seq_idx ON events (tenant_id, seq);
