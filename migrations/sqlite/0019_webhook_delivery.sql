-- Delivery state of each endpoint. An endpoint reads its tenant's event feed from a cursor of its
-- own, in feed order, and moves the cursor on only past events it delivered (or does not want):
-- at least once, the same event id on every retry, in order, and a write costs nothing more when
-- webhooks are on. One process at a time delivers an endpoint's events (a lease it renews); a
-- process that dies leaves a lease that expires, and another one carries on from the cursor.
ALTER TABLE webhook_endpoints ADD COLUMN cursor_txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN cursor_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;
ALTER TABLE webhook_endpoints ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN lease_until BIGINT;
ALTER TABLE webhook_endpoints ADD COLUMN leased_by TEXT;
CREATE INDEX webhook_endpoints_due_idx ON webhook_endpoints (next_attempt_at) WHERE disabled_at IS NULL;

-- Every attempt, for the delivery log an admin reads.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    latency_ms  BIGINT NOT NULL,
    excerpt     TEXT NOT NULL,
    delivered   BOOLEAN NOT NULL
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, id);
