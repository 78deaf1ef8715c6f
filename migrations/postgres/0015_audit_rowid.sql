-- Audit pages walk (at, id) newest first: one (tenant_id, at, id) index serves the keyset, the
-- time filters and purges, in place of (tenant_id, at) and (tenant_id, id), so an append (every
-- write of the gateway makes one) maintains one index fewer.
CREATE INDEX audit_events_tenant_at_id_idx ON audit_events (tenant_id, at, id);
DROP INDEX audit_events_tenant_at_idx;
DROP INDEX audit_events_tenant_id_idx;
