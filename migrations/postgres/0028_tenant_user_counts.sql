-- A tenant's user counts (seats, and users per status) in rows of their own, apart from its
-- settings (issue #21). Every create, sign-in and suspension used to update the tenant's row, so
-- on PostgreSQL each write of a tenant waited for the one before it to commit. The counts are now
-- spread over shards, each updated by one database connection (by its backend, of 64), and summed
-- when read (a handful of rows). A tenant with a seat limit still serialises its creates for the
-- check (see Tx::reserve_seat).
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


-- The sync and tolerance counters that each audit event adds to (migrations 0012 and 0014) were
-- spread over eight shards by the event's microsecond, so two concurrent writers of a connection
-- still met on one row one time in eight and the later waited for the other's commit. They are
-- now spread by backend, like the tenant's counts: a connection's writes never meet their own.
CREATE OR REPLACE FUNCTION audit_events_count_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_counters (connection_id, minute, shard, creates, updates, deactivations, deletes, rejections)
    VALUES (NEW.connection_id, NEW.at - (NEW.at % 60000000), pg_backend_pid() % 8,
            (NEW.counts_as = 'creates')::int, (NEW.counts_as = 'updates')::int,
            (NEW.counts_as = 'deactivations')::int, (NEW.counts_as = 'deletes')::int,
            (NEW.counts_as = 'rejections')::int)
    ON CONFLICT (connection_id, minute, shard) DO UPDATE SET
        creates = sync_counters.creates + excluded.creates,
        updates = sync_counters.updates + excluded.updates,
        deactivations = sync_counters.deactivations + excluded.deactivations,
        deletes = sync_counters.deletes + excluded.deletes,
        rejections = sync_counters.rejections + excluded.rejections;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION audit_events_count_tolerances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tolerance_counters (connection_id, minute, tolerance, shard, count)
    SELECT NEW.connection_id, NEW.at - (NEW.at % 60000000), t.name, pg_backend_pid() % 8, COUNT(*)
    FROM jsonb_array_elements_text(NEW.tolerances::jsonb) AS t(name)
    GROUP BY t.name
    ON CONFLICT (connection_id, minute, tolerance, shard) DO UPDATE SET
        count = tolerance_counters.count + excluded.count;
    RETURN NULL;
END
$$;
