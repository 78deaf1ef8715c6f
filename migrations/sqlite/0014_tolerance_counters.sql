-- Which client-quirk tolerances each connection's requests needed, per minute: a connection's
-- sync state shows how often each fired over the last hour and day without reading the audit
-- trail. Counted by the database as each audit event is appended, like the sync counters.
CREATE TABLE tolerance_counters (
    connection_id TEXT NOT NULL REFERENCES directory_connections (id) ON DELETE CASCADE,
    minute        BIGINT NOT NULL,
    tolerance     TEXT NOT NULL,
    shard         BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    CONSTRAINT tolerance_counters_pkey PRIMARY KEY (connection_id, minute, tolerance, shard)
);

CREATE TRIGGER audit_events_count_tolerances AFTER INSERT ON audit_events
WHEN NEW.connection_id IS NOT NULL AND NEW.tolerances IS NOT NULL
BEGIN
    INSERT INTO tolerance_counters (connection_id, minute, tolerance, shard, count)
    SELECT NEW.connection_id, NEW.at - (NEW.at % 60000000), t.value, 0, 1
    FROM json_each(NEW.tolerances) t WHERE t.type = 'text'
    ON CONFLICT (connection_id, minute, tolerance, shard) DO UPDATE SET count = count + 1;
END;
