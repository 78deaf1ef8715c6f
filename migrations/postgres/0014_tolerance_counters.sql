-- Which client-quirk tolerances each connection's requests needed, per minute: a connection's
-- sync state shows how often each fired over the last hour and day without reading the audit
-- trail. Counted by the database as each audit event is appended, like the sync counters, over
-- eight shards per minute so that concurrent requests of one connection do not queue behind one
-- row lock.
CREATE TABLE tolerance_counters (
    connection_id TEXT NOT NULL REFERENCES directory_connections (id) ON DELETE CASCADE,
    minute        BIGINT NOT NULL,
    tolerance     TEXT NOT NULL,
    shard         BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    CONSTRAINT tolerance_counters_pkey PRIMARY KEY (connection_id, minute, tolerance, shard)
);

CREATE FUNCTION audit_events_count_tolerances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tolerance_counters (connection_id, minute, tolerance, shard, count)
    SELECT NEW.connection_id, NEW.at - (NEW.at % 60000000), t.name, NEW.at % 8, COUNT(*)
    FROM jsonb_array_elements_text(NEW.tolerances::jsonb) AS t(name)
    GROUP BY t.name
    ON CONFLICT (connection_id, minute, tolerance, shard) DO UPDATE SET
        count = tolerance_counters.count + excluded.count;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_count_tolerances AFTER INSERT ON audit_events
FOR EACH ROW WHEN (NEW.connection_id IS NOT NULL AND NEW.tolerances IS NOT NULL)
EXECUTE FUNCTION audit_events_count_tolerances();
