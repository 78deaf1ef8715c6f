-- Where events are delivered: a tenant's endpoints (or, without a tenant, an operator's endpoint
-- for every tenant). The signing secret is sealed with the gateway's secret key, like SSO client
-- secrets: it must be read back to sign, so it cannot be a hash.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    secret_sealed   TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    description     TEXT,
    disabled_at     BIGINT,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id);
