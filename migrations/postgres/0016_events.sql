-- The outbox: one row per change a host product hears about (user and group lifecycle, sign-ins),
-- written in the transaction of the change, so an event exists if and only if its change
-- committed. The pull feed and webhook delivery read it.
--
-- Order: concurrent transactions take sequence numbers in one order and commit in another, so a
-- reader walking by `seq` alone could pass seq 11 (committed) while seq 10 is still in flight,
-- and never see 10. Each event therefore records the id of the transaction that wrote it
-- (`txid`), and the feed is ordered by (txid, seq) and only ever shows events of transactions
-- older than the oldest one still running (pg_snapshot_xmin): those are all finished, so no event
-- can later appear before one a reader has seen.
CREATE TABLE events (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid             BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
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
CREATE INDEX events_tenant_order_idx ON events (tenant_id, txid, seq);
