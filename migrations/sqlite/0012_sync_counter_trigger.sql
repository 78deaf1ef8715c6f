-- Sync counters kept by the database as each audit event is appended: the count costs no
-- statement of its own (on SQLite a statement is a hand-off to the connection's thread, which
-- made every write 10 % dearer), and no write path can forget it.
ALTER TABLE audit_events ADD COLUMN counts_as TEXT;

CREATE TRIGGER audit_events_count_sync AFTER INSERT ON audit_events
WHEN NEW.connection_id IS NOT NULL AND NEW.counts_as IS NOT NULL
BEGIN
    INSERT INTO sync_counters (connection_id, minute, shard, creates, updates, deactivations, deletes, rejections)
    VALUES (NEW.connection_id, NEW.at - (NEW.at % 60000000), 0,
            NEW.counts_as = 'creates', NEW.counts_as = 'updates', NEW.counts_as = 'deactivations',
            NEW.counts_as = 'deletes', NEW.counts_as = 'rejections')
    ON CONFLICT (connection_id, minute, shard) DO UPDATE SET
        creates = creates + excluded.creates,
        updates = updates + excluded.updates,
        deactivations = deactivations + excluded.deactivations,
        deletes = deletes + excluded.deletes,
        rejections = rejections + excluded.rejections;
END;
