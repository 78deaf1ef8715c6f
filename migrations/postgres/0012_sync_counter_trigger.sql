-- Sync counters kept by the database as each audit event is appended: the count costs no
-- statement of its own, and no write path can forget it. Concurrent writers of one connection
-- spread over eight rows per minute (by the event's microsecond), so that they do not queue
-- behind one row lock until commit.
ALTER TABLE audit_events ADD COLUMN counts_as TEXT;

CREATE FUNCTION audit_events_count_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_counters (connection_id, minute, shard, creates, updates, deactivations, deletes, rejections)
    VALUES (NEW.connection_id, NEW.at - (NEW.at % 60000000), NEW.at % 8,
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

CREATE TRIGGER audit_events_count_sync AFTER INSERT ON audit_events
FOR EACH ROW WHEN (NEW.connection_id IS NOT NULL AND NEW.counts_as IS NOT NULL)
EXECUTE FUNCTION audit_events_count_sync();
