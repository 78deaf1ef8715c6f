-- Operator-wide webhook endpoints read every tenant's events in feed order, (txid, seq); a
-- tenant's feed keeps its (tenant_id, txid, seq) index.
CREATE INDEX events_order_idx ON events (txid, seq);
